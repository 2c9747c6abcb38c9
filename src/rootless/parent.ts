// `berth daemon` run by an ordinary user: the parent process, like RootlessKit's. It checks the host (preflight),
// takes the data root's lock, makes the namespaces (namespace.ts), links them to the host (slirp.ts), serves the
// daemon's requests for host-side work (control.ts: published ports) and runs the daemon inside as the namespace's
// root. A daemon that crashes is started again into the same namespaces (its containers keep running there); a
// stop (SIGTERM, SIGINT) stops the daemon, then everything in the namespaces, as rootless Docker's service stop does.
import { spawn, ChildProcess } from 'child_process';
import { promises as fs } from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as net from 'net';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import { preflight, Preflight, hostUnprivilegedPortStart } from './preflight';
import { startHolder, enterArgs, killAll, Holder } from './namespace';
import { Slirp, SLIRP_DNS } from './slirp';
import { serveControl, ControlAnswer, ControlRequest } from './control';
import { probeHostPort, PortBinding } from '../network';
import { CHILD_ENV, RootlessChildContext } from './child-context';

export interface ParentOptions {
  dataRoot: string;
  execRoot: string;
  hosts: string[];
  /** node and the launcher, then `daemon` and its flags, for the daemon inside */
  daemonArgv: string[];
  /** the daemon's lock (daemon/lock.ts), passed in so that this folder does not import the daemon's */
  lock: { acquire(file: string): Promise<void>; release(file: string): Promise<void> };
}

/** Runs until stopped; exits the process. */
export async function runRootlessParent(opts: ParentOptions): Promise<never> {
  let pre: Preflight;
  try {
    pre = await preflight();
  } catch (err) {
    return fatal(`rootless: ${errorMessage(err)}`);
  }
  const session = new Session(opts, pre);
  const stop = (sig: string) => { void session.stop(sig).finally(() => process.exit(session.exitCode)); };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  try {
    await session.start();
  } catch (err) {
    log.error(`rootless: ${errorMessage(err)}`);
    session.exitCode = 1;
    await session.stop('start failure');
    process.exit(1);
  }
  return new Promise<never>(() => undefined);
}

function fatal(msg: string): never {
  process.stderr.write(`${msg}\n`);
  process.exit(1);
}

class Session {
  exitCode = 0;
  private holder?: Holder;
  private slirp?: Slirp;
  private control?: net.Server;
  private daemon?: ChildProcess;
  private locks: string[] = [];
  private stopping = false;
  /** set once the locks are held: a refused second daemon must not remove the first one's sockets */
  private owner = false;
  private restarts: number[] = [];
  private forwards = new Map<string, number>();
  private readonly rootlessDir: string;

  constructor(private readonly opts: ParentOptions, private readonly pre: Preflight) {
    this.rootlessDir = path.join(opts.execRoot, 'rootless');
  }

  async start(): Promise<void> {
    const { dataRoot, execRoot } = this.opts;
    await fs.mkdir(dataRoot, { recursive: true, mode: 0o700 });
    await fs.mkdir(execRoot, { recursive: true, mode: 0o700 });
    // one rootless daemon per data root and per exec root (its socket): before anything is made
    for (const lock of [path.join(dataRoot, 'berth.pid'), path.join(execRoot, 'berth.pid')]) {
      await this.opts.lock.acquire(lock);
      this.locks.push(lock);
    }
    this.owner = true; // from here on the sockets and the exec root's files are this session's
    await fs.mkdir(this.rootlessDir, { recursive: true, mode: 0o700 });

    const { user, subuids, subgids, newuidmap, newgidmap } = this.pre;
    this.holder = await startHolder({ uid: user.uid, gid: user.gid, subuids, subgids, newuidmap, newgidmap });
    log.info('rootless: user namespace ready', { holder: this.holder.pid, uids: subuids, gids: subgids });
    this.slirp = await Slirp.start(this.pre.network.path, this.holder.pid, path.join(this.rootlessDir, 'slirp.sock'));
    log.info('rootless: network ready', { driver: 'slirp4netns', pid: this.slirp.proc.pid });
    this.slirp.proc.once('exit', (code) => {
      if (this.stopping) return;
      log.error('rootless: slirp4netns exited; stopping', { code });
      this.exitCode = 1;
      void this.stop('network gone').finally(() => process.exit(1));
    });
    this.control = await serveControl(path.join(this.rootlessDir, 'ctl.sock'), (req) => this.handle(req));
    await this.startDaemon(true);
  }

  private childContext(): RootlessChildContext {
    return {
      parentPid: process.pid, controlSocket: path.join(this.rootlessDir, 'ctl.sock'), network: 'slirp4netns', dns: SLIRP_DNS,
      hostUid: this.pre.user.uid, subuids: this.pre.subuids, subgids: this.pre.subgids, rootlessDir: this.rootlessDir,
    };
  }

  private async startDaemon(first: boolean): Promise<void> {
    const [cmd, ...args] = this.opts.daemonArgv;
    const child = spawn('nsenter', enterArgs(this.holder!.pid, [cmd, ...args]), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, [CHILD_ENV]: JSON.stringify(this.childContext()) },
    });
    this.daemon = child;
    const startedAt = Date.now();
    const exited = new Promise<number>((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    if (first) {
      await Promise.race([this.waitReady(child), exited.then((code) => { throw new Error(`the daemon exited during start-up (status ${code})`); })]);
    }
    void exited.then((code) => this.onDaemonExit(code, startedAt));
  }

  /** The first socket answers /_ping. */
  private async waitReady(child: ChildProcess): Promise<void> {
    const sock = this.opts.hosts[0].replace(/^unix:\/\//, '');
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await ping(sock)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (child.exitCode === null) throw new Error('the daemon did not answer in 120 s');
  }

  private onDaemonExit(code: number, startedAt: number): void {
    if (this.stopping) return;
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < 60_000);
    if (this.restarts.length >= 5) {
      log.error('rootless: the daemon keeps exiting; stopping', { status: code });
      this.exitCode = 1;
      void this.stop('daemon exits').finally(() => process.exit(1));
      return;
    }
    this.restarts.push(now);
    log.warn('rootless: the daemon exited; starting it again in the same namespaces (containers keep running)', { status: code, ranMs: now - startedAt });
    void this.startDaemon(false).catch((err) => { log.error(`rootless: ${errorMessage(err)}`); void this.stop('restart failed').finally(() => process.exit(1)); });
  }

  /** Only the host's loopback: the daemon reaches everything else through the user-mode network itself. */
  private connectLoopback(host: string, port: number): Promise<ControlAnswer & { stream?: net.Socket }> {
    const loopback = host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === '[::1]';
    if (!loopback || !Number.isInteger(port) || port < 1 || port > 65535) return Promise.resolve({ ok: false, error: `not a loopback address: ${host}:${port}` });
    return new Promise((resolve) => {
      const s = net.connect({ host: host.replace(/^\[|\]$/g, ''), port });
      s.once('connect', () => { s.removeAllListeners('error'); resolve({ ok: true, stream: s }); });
      s.once('error', (err) => resolve({ ok: false, error: errorMessage(err) }));
    });
  }

  private async handle(req: ControlRequest): Promise<ControlAnswer & { stream?: net.Socket }> {
    if (req.op === 'add-port') return this.addPort(req.binding);
    if (req.op === 'remove-port') return this.removePort(req.binding);
    if (req.op === 'connect') return this.connectLoopback(req.host, req.port);
    return { ok: false, error: `unknown request ${(req as { op: string }).op}` };
  }

  private async addPort(b: PortBinding): Promise<ControlAnswer> {
    const key = forwardKey(b);
    if (this.forwards.has(key)) return { ok: true };
    const start = hostUnprivilegedPortStart();
    if (b.hostPort < start) {
      return { ok: false, kind: 'refused', error: `cannot expose privileged port ${b.hostPort}, you can add 'net.ipv4.ip_unprivileged_port_start=${b.hostPort}' to /etc/sysctl.conf (currently ${start}), or choose a larger port number (>= ${start})` };
    }
    const hostAddr = b.hostIp || '0.0.0.0';
    try {
      if (await probeHostPort(b.protocol, b.hostIp, b.hostPort)) return { ok: false, kind: 'in-use', error: 'in use on the host' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES') return { ok: false, kind: 'refused', error: `cannot expose privileged port ${b.hostPort}: the host refuses it (listen ${b.protocol} ${hostAddr}:${b.hostPort}: permission denied)` };
      return { ok: false, kind: 'refused', error: `cannot listen on ${hostAddr}:${b.hostPort}/${b.protocol} on the host: ${errorMessage(err)}` };
    }
    try {
      this.forwards.set(key, await this.slirp!.addHostFwd(b.protocol, hostAddr, b.hostPort, b.hostPort));
      return { ok: true };
    } catch (err) {
      return { ok: false, kind: 'in-use', error: errorMessage(err) };
    }
  }

  private async removePort(b: PortBinding): Promise<ControlAnswer> {
    const key = forwardKey(b);
    const id = this.forwards.get(key);
    if (id === undefined) return { ok: true };
    await this.slirp!.removeHostFwd(id);
    this.forwards.delete(key);
    return { ok: true };
  }

  /** Stops the daemon, then everything in the namespaces, then the network; releases the locks. Idempotent. */
  async stop(why: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    log.info('rootless: stopping', { reason: why });
    const d = this.daemon;
    if (d && d.exitCode === null && d.signalCode === null) {
      const gone = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      const timer = setTimeout(() => d.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
    }
    if (this.holder) await killAll(this.holder.userNs).catch((e) => log.warn('rootless: killing the namespace failed', { error: errorMessage(e) }));
    this.slirp?.stop();
    this.control?.close();
    if (this.owner) {
      await fs.rm(path.join(this.rootlessDir, 'ctl.sock'), { force: true });
      await fs.rm(path.join(this.rootlessDir, 'slirp.sock'), { force: true });
      for (const h of this.opts.hosts) await fs.rm(h.replace(/^unix:\/\//, ''), { force: true });
    }
    for (const lock of this.locks.reverse()) await this.opts.lock.release(lock).catch(() => undefined);
  }
}

const forwardKey = (b: PortBinding) => `${b.protocol}/${b.hostIp || '0.0.0.0'}/${b.hostPort}`;

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: '/_ping', timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}
