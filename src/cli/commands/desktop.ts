// `berth desktop [status|stop]`: finds the engine (-H, BERTH_HOST, DOCKER_HOST, the default socket), starts
// `berth daemon` detached when nothing answers, starts the dashboard server (its own process: dist/
// desktop-server.js through the launcher, so the CLI can be any executable) and prints a one-time login URL.
// The CLI talks to the running dashboard over its control socket (GET /status, POST /token, POST /stop).
import { spawn } from 'child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CommandSpec, StatusError, flagDefs, Parsed } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { findNode, nodeLauncher, onBun } from '../node-handoff';
// type only: the control socket's answer, defined by the server
import type { ControlStatus } from '../../desktop/server/control';

export function command(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] [status|stop]',
    short: 'Open the berth dashboard in a browser (starts the engine if needed)',
    long: 'Open the berth dashboard in a browser (starts the engine if needed)\n\n' +
      'Serves a web dashboard on 127.0.0.1 and prints a one-time login link. When no engine answers on the\n' +
      'host, starts `berth daemon` in the background first (its log goes to the state directory).\n' +
      '"status" shows the running dashboard; "stop" ends it, and the engine too when this command started it.',
    args: { max: 1 },
    flags: flagDefs([
      ['', 'port', 'int', 'Port on 127.0.0.1 to serve the dashboard on (0 picks a free one)', '9965'],
      ['', 'no-browser', 'bool', 'Print the link without opening a browser'],
      ['', 'state-dir', 'string', 'Directory for the control socket and logs (default $BERTH_DESKTOP_DIR or /run/berth-desktop)'],
      ['', 'daemon-arg', 'list', 'An argument for the `berth daemon` this command starts when none runs (repeatable)'],
    ]),
  };
  return { spec, run: (ctx, p) => run(ctx, p) };
}

function stateDir(p: Parsed): string {
  const fromFlag = p.str('state-dir');
  if (fromFlag) return path.resolve(fromFlag);
  if (process.env.BERTH_DESKTOP_DIR) return path.resolve(process.env.BERTH_DESKTOP_DIR);
  if (process.getuid?.() === 0) return '/run/berth-desktop';
  return path.join(process.env.XDG_RUNTIME_DIR || os.tmpdir(), `berth-desktop-${process.getuid?.() ?? 'user'}`);
}

async function run(ctx: Ctx, p: Parsed): Promise<number> {
  const sub = p.args[0];
  if (sub !== undefined && sub !== 'status' && sub !== 'stop') {
    throw new StatusError(1, `berth desktop: unknown subcommand "${sub}" (use status or stop)`);
  }
  const dir = stateDir(p);
  const sock = path.join(dir, 'control.sock');
  if (sub === 'status') return status(ctx, sock);
  if (sub === 'stop') return stop(ctx, sock);

  const port = Number(p.str('port', '9965'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StatusError(125, `invalid argument "${p.str('port')}" for "--port" flag: out of range`);
  const running = await control<ControlStatus>(sock, 'GET', '/status').catch(() => undefined);
  if (running) {
    if (running.engineHost !== ctx.host) ctx.err(`berth desktop: already running for ${running.engineHost}; stop it first to serve ${ctx.host}\n`);
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const startedEngine = await ensureEngine(ctx, dir, p.list('daemon-arg'));
    await startServer(ctx, dir, sock, port, startedEngine);
  }
  const { url } = await control<{ url: string }>(sock, 'POST', '/token');
  ctx.out(`berth desktop is running: ${url}\n`);
  ctx.out('The link signs one browser in once; run `berth desktop` again for another, `berth desktop stop` to end it.\n');
  if (!p.bool('no-browser') && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) openBrowser(url);
  return 0;
}

/**
 * How to run berth's Node-side entry points (`daemon`, `desktop-server`): Node with the launcher bin/berth-node.
 * Inside the Bun-built executable that is the checkout's bin/berth-node and the node on PATH (BERTH_NODE);
 * on Node, bin/berth-node beside this bundle (dist/cli.js) and this very node.
 */
export function launcher(): { cmd: string; args: string[] } {
  if (onBun()) {
    const node = findNode();
    if (!node) throw new StatusError(1, 'berth desktop runs its server on Node.js, which was not found on PATH (set BERTH_NODE to its path)');
    return { cmd: node, args: [nodeLauncher()] };
  }
  for (const script of [path.join(__dirname, '..', 'bin', 'berth-node'), path.join(__dirname, '..', '..', '..', '..', 'bin', 'berth-node')]) {
    if (existsSync(script)) return { cmd: process.execPath, args: [script] };
  }
  throw new StatusError(1, `bin/berth-node not found beside ${__dirname}`);
}

async function engineAnswers(ctx: Ctx): Promise<boolean> {
  try {
    await ctx.client().text('GET', '/_ping');
    return true;
  } catch {
    return false;
  }
}

/** Starts `berth daemon` detached when nothing answers at the host; returns its pid (or undefined). */
async function ensureEngine(ctx: Ctx, dir: string, daemonArgs: string[]): Promise<number | undefined> {
  if (await engineAnswers(ctx)) return undefined;
  const m = /^unix:\/\/(.+)$/.exec(ctx.host);
  if (!m) throw new StatusError(1, `Cannot connect to the engine at ${ctx.host}, and berth can only start one on a unix socket`);
  if (process.getuid?.() !== 0) throw new StatusError(1, `Cannot connect to the engine at ${ctx.host}; starting one needs root (sudo berth desktop)`);
  const log = path.join(dir, 'daemon.log');
  ctx.err(`Starting the berth engine on ${ctx.host} (log: ${log}) …\n`);
  const started = await startDetached(['daemon', '-H', ctx.host, ...daemonArgs], log, 60_000, async () => existsSync(m[1]) && engineAnswers(ctx));
  if (started.ok) return started.pid;
  if (started.exited !== null) throw new StatusError(1, `the berth engine exited (status ${started.exited}) while starting:\n${tail(log)}`);
  throw new StatusError(1, `the berth engine did not answer within 60 s; see ${log}`);
}

async function startServer(ctx: Ctx, dir: string, sock: string, port: number, startedEngine?: number): Promise<void> {
  const log = path.join(dir, 'desktop.log');
  const args = ['desktop-server', '--engine-host', ctx.host, '--port', String(port), '--state-dir', dir];
  if (startedEngine) args.push('--started-engine', String(startedEngine));
  const started = await startDetached(args, log, 30_000, () => control(sock, 'GET', '/status').then(() => true, () => false));
  if (started.ok) return;
  if (started.exited !== null) throw new StatusError(1, `the dashboard server exited while starting:\n${tail(log)}`);
  throw new StatusError(1, `the dashboard server did not start within 30 s; see ${log}`);
}

/**
 * Runs `berth <args>` through the launcher in its own session (it outlives this command), output appended to
 * `log`, and waits until `ready()` or until it exits or `ms` pass.
 */
async function startDetached(args: string[], log: string, ms: number, ready: () => Promise<boolean>): Promise<{ ok: boolean; pid?: number; exited: number | null }> {
  const fd = openSync(log, 'a', 0o600);
  const l = launcher();
  const child = spawn(l.cmd, [...l.args, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null = null;
  child.on('exit', (code) => { exited = code ?? 1; });
  child.unref();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (exited !== null) return { ok: false, exited };
    if (await ready()) return { ok: true, pid: child.pid, exited: null };
    await sleep(50);
  }
  return { ok: false, exited };
}

async function status(ctx: Ctx, sock: string): Promise<number> {
  const s = await control<ControlStatus>(sock, 'GET', '/status').catch(() => undefined);
  if (!s) { ctx.out('berth desktop is not running\n'); return 1; }
  ctx.out(`Dashboard:   running (pid ${s.pid}) at ${s.url} since ${s.startedAt}\n`);
  ctx.out(`Engine:      ${s.engineHost} (${s.engineUp ? 'up' : 'not answering'}${s.startedEngine ? `; started by berth desktop, pid ${s.startedEngine}` : ''})\n`);
  ctx.out(`Pages open:  ${s.pages}\n`);
  return 0;
}

async function stop(ctx: Ctx, sock: string): Promise<number> {
  const s = await control<ControlStatus>(sock, 'GET', '/status').catch(() => undefined);
  if (!s) { ctx.out('berth desktop is not running\n'); return 0; }
  await control(sock, 'POST', '/stop').catch(() => undefined);
  if (!(await waitGone(s.pid, 10_000))) throw new StatusError(1, `the dashboard (pid ${s.pid}) did not stop`);
  ctx.out(`berth desktop stopped (pid ${s.pid})\n`);
  if (s.startedEngine && alive(s.startedEngine)) {
    process.kill(s.startedEngine, 'SIGTERM');
    if (!(await waitGone(s.startedEngine, 30_000))) throw new StatusError(1, `the engine (pid ${s.startedEngine}) did not stop`);
    ctx.out(`the engine it started stopped (pid ${s.startedEngine}); containers keep running under their shims\n`);
  }
  return 0;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

function control<T>(sock: string, method: string, p: string): Promise<T> {
  if (!existsSync(sock)) return Promise.reject(new Error('no control socket'));
  const http: typeof import('http') = require('http');
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: p, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T); } catch (err) { reject(err); }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function openBrowser(url: string): void {
  try {
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch { /* no opener: the printed link is enough */ }
}

function tail(file: string): string {
  try { return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n'); } catch { return ''; }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
