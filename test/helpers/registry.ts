// Throw-away registries for tests: Debian's docker-registry (CNCF distribution 2.8) on 127.0.0.1 with its
// storage in a temp dir (optionally behind htpasswd Basic auth), and a TCP proxy that cuts a connection after
// N bytes to exercise resumed transfers. Everything started here is killed and removed by stop(), and at the
// latest when the test process exits.
import { spawn, ChildProcess, execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'fs';
import { randomBytes } from 'crypto';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export const DOCKER_REGISTRY_BIN = '/usr/bin/docker-registry';

const WATCHDOG = '"$1" serve "$2" </dev/null & pid=$!; trap \'\' PIPE; trap \'kill $pid 2>/dev/null\' EXIT TERM INT; read -r _ || true; kill $pid 2>/dev/null; wait $pid; case "$3" in /tmp/berth-registry-*) rm -rf "$3";; esac';

const live = new Set<{ kill(): void }>();
process.on('exit', () => { for (const l of live) l.kill(); });

export function dockerRegistryAvailable(): boolean {
  return existsSync(DOCKER_REGISTRY_BIN);
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A bcrypt hash ($2b$) made by glibc/libxcrypt's crypt() through perl; throws when crypt() lacks bcrypt. */
export function bcryptHash(password: string): string {
  const bytes = randomBytes(22);
  let salt = '';
  for (let i = 0; i < 21; i++) salt += BCRYPT_ALPHABET[bytes[i] % 64];
  salt += '.Oeu'[bytes[21] % 4]; // the last character carries only 2 bits
  const out = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`], { encoding: 'utf8' });
  if (!/^\$2[aby]\$05\$.{53}$/.test(out)) throw new Error('crypt() here cannot make bcrypt hashes');
  return out;
}

export function bcryptAvailable(): boolean {
  try { bcryptHash('x'); return true; } catch { return false; }
}

export interface DockerRegistry {
  /** '127.0.0.1:port' */
  host: string;
  /** 'http://127.0.0.1:port' */
  url: string;
  port: number;
  /** Temp dir holding config, storage and htpasswd. */
  dir: string;
  /** What the registry wrote on stderr (last 64 KiB). */
  log(): string;
  stop(): Promise<void>;
}

export interface DockerRegistryOptions {
  /** Enables htpasswd Basic auth with these users. */
  htpasswd?: Record<string, string>;
}

async function waitReady(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`docker-registry exited:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(`${url}/v2/`, (res) => { res.resume(); resolve(res.statusCode === 200 || res.statusCode === 401); });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => { req.destroy(); resolve(false); });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not become ready:\n${log()}`);
}

/** Starts docker-registry on 127.0.0.1:<free port> with filesystem storage in a temp dir. */
export async function startDockerRegistry(opts: DockerRegistryOptions = {}): Promise<DockerRegistry> {
  const dir = mkdtempSync(path.join('/tmp', 'berth-registry-'));
  let proc: ChildProcess | undefined;
  const entry = {
    kill: () => {
      try { proc?.stdin?.destroy(); } catch { /* gone */ }
      try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
    },
  };
  live.add(entry);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const auth = opts.htpasswd
      ? `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${path.join(dir, 'htpasswd')}\n`
      : '';
    if (opts.htpasswd) {
      writeFileSync(path.join(dir, 'htpasswd'), Object.entries(opts.htpasswd).map(([u, p]) => `${u}:${bcryptHash(p)}\n`).join(''));
    }
    const config = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      '',
    ].join('\n') + auth;
    const configFile = path.join(dir, 'config.yml');
    writeFileSync(configFile, config);
    let log = '';
    // The registry runs under a shell that kills it and removes its temp dir when our end of its stdin closes:
    // also when this process dies without running any cleanup (killed by the test runner's timeout, say).
    proc = spawn('/bin/sh', ['-c', WATCHDOG, 'registry-watchdog', DOCKER_REGISTRY_BIN, configFile, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => { log = (log + d.toString()).slice(-65536); };
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(url, proc, () => log);
    } catch (err) {
      lastError = err;
      proc.stdin!.end();
      continue;
    }
    const p = proc;
    return {
      host: `127.0.0.1:${port}`,
      url,
      port,
      dir,
      log: () => log,
      stop: async () => {
        live.delete(entry);
        if (p.exitCode === null && p.signalCode === null) {
          const exited = new Promise((r) => p.once('exit', r));
          p.stdin!.end();
          const t = setTimeout(() => p.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  live.delete(entry);
  entry.kill();
  throw lastError;
}

export interface FlakyProxy {
  host: string;
  port: number;
  /** How many connections were cut so far. */
  cuts(): number;
  stop(): Promise<void>;
}

/**
 * A TCP proxy to `target` ('127.0.0.1:port') that, for the first `times` (default 1) connections moving more than
 * `cutAfterBytes` in `direction` ('download': server → client, 'upload': client → server), forwards exactly that
 * many bytes and then destroys both sides.
 */
export function startFlakyProxy(target: string, opts: { cutAfterBytes: number; direction: 'download' | 'upload'; times?: number }): Promise<FlakyProxy> {
  const [thost, tport] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(tport, thost);
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    let moved = 0;
    let armed = cuts < (opts.times ?? 1);
    const [from, to] = opts.direction === 'download' ? [upstream, client] : [client, upstream];
    const [back, forth] = opts.direction === 'download' ? [client, upstream] : [upstream, client];
    from.on('data', (d: Buffer) => {
      if (armed && moved + d.length > opts.cutAfterBytes && cuts < (opts.times ?? 1)) {
        const part = d.subarray(0, opts.cutAfterBytes - moved);
        moved += part.length;
        armed = false;
        cuts++;
        to.write(part, () => { client.destroy(); upstream.destroy(); });
        from.pause();
        return;
      }
      moved += d.length;
      if (!to.write(d)) { from.pause(); to.once('drain', () => from.resume()); }
    });
    back.on('data', (d: Buffer) => {
      if (!forth.write(d)) { back.pause(); forth.once('drain', () => back.resume()); }
    });
    from.on('end', () => to.end());
    back.on('end', () => forth.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        host: `127.0.0.1:${port}`,
        port,
        cuts: () => cuts,
        stop: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}
