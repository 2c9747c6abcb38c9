// `berth registry serve`: runs berth's OCI distribution registry in the foreground until SIGINT/SIGTERM.
// The server is a separate bundle (dist/registry-server.js, from src/registry) loaded only here, so the
// CLI bundle every other command loads carries neither the server nor bcryptjs.
import * as path from 'path';
import { existsSync } from 'fs';
import { CommandSpec, StatusError, flagDefs, Parsed } from '../command';
import type { Cmd, Ctx } from '../cmd';
// type only (erased at build): the contract with the server bundle, checked by tsc
import type * as RegistryServer from '../../registry/main';

export function command(id: string): Cmd {
  if (id === 'registry serve') return serveCommand(id);
  throw new Error(`unknown command ${id}`);
}

function serveCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'Run an OCI distribution registry (a local Docker Hub) in the foreground',
    args: 'none',
    flags: flagDefs([
      ['', 'addr', 'string', 'Address to listen on (host:port; port 0 picks a free one)', '"127.0.0.1:5000"'],
      ['', 'root', 'string', 'Directory holding the registry\'s blobs, repositories and uploads', '"/var/lib/berth/registry"'],
      ['', 'htpasswd', 'string', 'Require HTTP Basic authentication against this htpasswd file (bcrypt entries, htpasswd -B)'],
      ['', 'tls-cert', 'string', 'Serve HTTPS with this certificate (PEM)'],
      ['', 'tls-key', 'string', 'Private key (PEM) for --tls-cert'],
    ]),
  };
  return { spec, run: (ctx, p) => runServe(ctx, p) };
}

/** The server bundle beside the CLI bundle (dist/), or the tsc output when running from build/. */
function loadServer(): typeof RegistryServer {
  const candidates = [path.join(__dirname, 'registry-server.js'), path.join(__dirname, '..', '..', 'registry', 'main.js')];
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new StatusError(1, `registry server not found (looked for ${candidates.join(', ')}); run npm run build`);
  return require(found) as typeof RegistryServer;
}

async function runServe(ctx: Ctx, p: Parsed): Promise<number> {
  if (p.has('tls-cert') !== p.has('tls-key')) throw new StatusError(1, '--tls-cert and --tls-key must be given together');
  const server = loadServer();
  if (ctx.debug) server.setLogLevel('debug');
  const opts: RegistryServer.ServeOptions = {
    addr: p.str('addr', '127.0.0.1:5000'),
    root: p.str('root', '/var/lib/berth/registry'),
    htpasswd: p.str('htpasswd') || undefined,
    tlsCert: p.str('tls-cert') || undefined,
    tlsKey: p.str('tls-key') || undefined,
  };
  try {
    server.parseAddr(opts.addr);
  } catch (err) {
    throw new StatusError(1, (err as Error).message);
  }
  let running: RegistryServer.RunningRegistry;
  try {
    running = await server.serve(opts);
  } catch (err) {
    throw new StatusError(1, `registry: ${(err as Error).message}`);
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      running.close(sig).then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
