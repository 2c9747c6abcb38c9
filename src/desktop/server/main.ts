// Entry of the dashboard server process (dist/desktop-server.js), started detached by `berth desktop`
// through the launcher (`berth desktop-server …`, see bin/berth). It serves the page on 127.0.0.1, answers the
// control socket in its state directory, and exits on SIGTERM/SIGINT or a stop request.
import { mkdirSync, unlinkSync } from 'fs';
import * as path from 'path';
import { startDashboard } from './app';
import { serveControl } from './control';

export interface ServerArgs { engineHost: string; port: number; stateDir: string; webDir: string; startedEngine?: number }

export function parseArgs(argv: string[]): ServerArgs {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    const eq = argv.find((a) => a.startsWith(`--${name}=`));
    return eq?.slice(name.length + 3);
  };
  const port = Number(get('port') ?? '9965');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${get('port')}`);
  const engineHost = get('engine-host');
  const stateDir = get('state-dir');
  if (!engineHost || !stateDir) throw new Error('usage: berth desktop-server --engine-host HOST --state-dir DIR [--port N] [--web-dir DIR]');
  const pid = get('started-engine');
  return { engineHost, port, stateDir, webDir: get('web-dir') ?? path.join(__dirname, 'desktop-web'), startedEngine: pid ? Number(pid) : undefined };
}

export async function main(argv: string[]): Promise<void> {
  let args: ServerArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  mkdirSync(args.stateDir, { recursive: true, mode: 0o700 });
  let dash;
  try {
    dash = await startDashboard({ engineHost: args.engineHost, port: args.port, webDir: args.webDir });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(e.code === 'EADDRINUSE' ? `port ${args.port} on 127.0.0.1 is in use: pick another with --port (0 = any)\n` : `${e.message}\n`);
    process.exit(1);
  }
  const sock = path.join(args.stateDir, 'control.sock');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const done = () => { try { unlinkSync(sock); } catch { /* gone */ } process.exit(0); };
    control.close();
    dash.close().then(done, done);
    setTimeout(done, 3000).unref();
  };
  const control = await serveControl(sock, dash, { engineHost: args.engineHost, startedEngine: args.startedEngine }, stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stderr.write(`berth desktop: serving http://127.0.0.1:${dash.port}/ for ${args.engineHost} (pid ${process.pid})\n`);
}

if (require.main === module) main(process.argv.slice(2));
