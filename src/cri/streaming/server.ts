// The CRI streaming server: Exec, Attach and PortForward answer with a one-time URL on this HTTP server; the
// client (kubelet, crictl, critest) upgrades a POST to that URL to SPDY/3.1 and speaks the Kubernetes
// protocols over it — remote command v2..v4 (streams "error", "stdin", "stdout", "stderr", "resize"; the exit
// status as a JSON metav1.Status on "error") and portforward.k8s.io (an "error" and a "data" stream per
// connection, paired by requestID). Listens on loopback by default, like containerd's stream server.
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as net from 'net';
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { log } from '../../common/log';
import { errorMessage } from '../../common/errors';
import { SpdySession, type SpdyStream } from './spdy';
import { FrameDecoder } from '../exec';

export type StreamRequest =
  | { kind: 'exec'; containerId: string; cmd: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }
  | { kind: 'attach'; containerId: string; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean }
  | { kind: 'portforward'; podId: string };

/** What the server needs from the runtime to serve a request. */
export interface StreamBackend {
  /** starts an exec; output on `conn` (shim framing), stdin to it; `exited` gives the exit code */
  exec(req: Extract<StreamRequest, { kind: 'exec' }>): Promise<{ conn: net.Socket; exited: Promise<number>; resize(rows: number, cols: number): Promise<void> }>;
  /** joins the container's stdio */
  attach(req: Extract<StreamRequest, { kind: 'attach' }>): Promise<{ conn: net.Socket; resize(rows: number, cols: number): Promise<void> }>;
  /** the pod's network namespace file ('' for the host's network) */
  podNetns(podId: string): string;
  /** berth-nsconnect */
  nsconnect: string;
}

const REMOTE_COMMAND = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const PORT_FORWARD = ['portforward.k8s.io'];
const TOKEN_TTL_MS = 60_000;
const STREAM_CREATION_TIMEOUT_MS = 30_000;

export class StreamServer {
  private server?: http.Server;
  private tokens = new Map<string, { req: StreamRequest; expires: number }>();
  private sessions = new Set<SpdySession>();
  private baseUrl = '';

  constructor(private readonly backend: StreamBackend, private readonly address = '127.0.0.1', private readonly port = 0) {}

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      res.writeHead(req.headers.upgrade ? 404 : 400, { 'Content-Type': 'text/plain' });
      res.end(req.headers.upgrade ? 'unknown or expired streaming session\n' : 'streaming requests must be upgraded to SPDY/3.1\n');
    });
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.address, () => { server.off('error', reject); resolve(); });
    });
    const a = server.address() as AddressInfo;
    this.baseUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A one-time URL for the request, valid for a minute. */
  url(req: StreamRequest): string {
    const now = Date.now();
    for (const [t, v] of this.tokens) if (v.expires < now) this.tokens.delete(t);
    const token = randomBytes(12).toString('base64url');
    this.tokens.set(token, { req, expires: now + TOKEN_TTL_MS });
    return `${this.baseUrl}/${req.kind}/${token}`;
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const fail = (code: number, text: string, extra = '') => {
      socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n${extra}\r\n${text}`);
    };
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/.exec((req.url ?? '').split('?')[0]);
    const entry = m ? this.tokens.get(m[2]) : undefined;
    if (!m || !entry || entry.req.kind !== m[1] || entry.expires < Date.now()) return fail(404, 'unknown or expired streaming session\n');
    this.tokens.delete(m[2]);
    if (!/spdy\/3\.1/i.test(String(req.headers.upgrade ?? ''))) return fail(400, 'unsupported upgrade protocol: use SPDY/3.1\n');
    const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const supported = entry.req.kind === 'portforward' ? PORT_FORWARD : REMOTE_COMMAND;
    const protocol = offered.find((p) => supported.includes(p));
    if (!protocol) {
      return fail(403, `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]\n`,
        supported.map((p) => `X-Accepted-Stream-Protocol-Versions: ${p}\r\n`).join(''));
    }
    socket.setNoDelay(true);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    const session = new SpdySession(socket, head);
    this.sessions.add(session);
    session.on('close', () => this.sessions.delete(session));
    const r = entry.req;
    const run = r.kind === 'portforward' ? this.portForward(session, r) : this.remoteCommand(session, r, protocol);
    run.catch((err) => {
      log.debug('streaming session failed', { kind: r.kind, error: errorMessage(err) });
      session.close();
    });
  }

  // ------------------------------------------------------------------------------------------- exec / attach

  private async remoteCommand(session: SpdySession, r: Extract<StreamRequest, { kind: 'exec' | 'attach' }>, protocol: string): Promise<void> {
    const version = protocol === 'channel.k8s.io' ? 1 : Number(protocol[1]);
    const want = new Set(['error']);
    if (r.stdin) want.add('stdin');
    if (r.stdout) want.add('stdout');
    if (r.stderr && !r.tty) want.add('stderr');
    if (r.tty && version >= 3) want.add('resize');
    const streams = await collectStreams(session, want);
    const errorStream = streams.get('error')!;
    const finish = (failure?: string, exitCode?: number) => {
      streams.get('stdout')?.end();
      streams.get('stderr')?.end();
      if (failure !== undefined || (exitCode !== undefined && exitCode !== 0)) {
        errorStream.end(version >= 4 ? statusJson(failure, exitCode) : (failure ?? `command terminated with non-zero exit code: ${exitCode}`));
      } else {
        errorStream.end(version >= 4 ? statusJson() : undefined);
      }
      // the client closes the connection once it read everything; make sure it goes away even if it does not
      setTimeout(() => session.close(), 1000).unref();
    };
    let handle: { conn: net.Socket; exited?: Promise<number>; resize(rows: number, cols: number): Promise<void> };
    try {
      handle = r.kind === 'exec' ? await this.backend.exec(r) : await this.backend.attach(r);
    } catch (err) {
      finish(errorMessage(err));
      return;
    }
    const { conn } = handle;
    const out = streams.get('stdout');
    const errOut = streams.get('stderr');
    const decoder = new FrameDecoder((s, d) => ((s === 2 && !r.tty ? errOut : out) ?? out)?.write(Buffer.from(d)));
    const drained = new Promise<void>((resolve) => {
      conn.on('data', (d: Buffer) => decoder.push(d));
      conn.on('end', () => resolve());
      conn.on('close', () => resolve());
      conn.on('error', () => resolve());
    });
    const stdin = streams.get('stdin');
    if (stdin) {
      stdin.consume((d) => { if (!conn.destroyed) conn.write(d); }, () => { if (!conn.destroyed) conn.end(); });
    } else {
      conn.end();
    }
    const resize = streams.get('resize');
    if (resize) {
      let text = '';
      resize.consume((d: Buffer) => {
        text += d.toString('utf8');
        let nl: number;
        while ((nl = text.indexOf('\n')) >= 0) {
          const line = text.slice(0, nl); text = text.slice(nl + 1);
          try {
            const size = JSON.parse(line) as { Width?: number; Height?: number };
            if (size.Width && size.Height) void handle.resize(size.Height, size.Width).catch(() => undefined);
          } catch { /* not a size */ }
        }
      }, () => undefined);
    }
    // the client going away ends an attach (never the container) and an exec's connection
    session.on('close', () => conn.destroy());
    await drained;
    const code = handle.exited ? await handle.exited : undefined;
    finish(undefined, code);
  }

  // ------------------------------------------------------------------------------------------- port forward

  private async portForward(session: SpdySession, r: Extract<StreamRequest, { kind: 'portforward' }>): Promise<void> {
    const netns = this.backend.podNetns(r.podId);
    const errors = new Map<string, SpdyStream>();
    session.on('stream', (s: SpdyStream) => {
      const type = s.headers.streamtype;
      const id = s.headers.requestid ?? '';
      if (type === 'error') {
        errors.set(id, s);
        s.on('close', () => errors.delete(id));
        return;
      }
      if (type !== 'data') { s.end(); return; }
      const port = Number(s.headers.port);
      const fail = (msg: string) => {
        const e = errors.get(id);
        e?.end(msg);
        s.end();
      };
      if (!Number.isInteger(port) || port <= 0 || port > 65535) { fail(`invalid port ${JSON.stringify(s.headers.port ?? '')}`); return; }
      this.forward(netns, port, s, fail, () => errors.get(id)?.end());
    });
  }

  private forward(netns: string, port: number, s: SpdyStream, fail: (msg: string) => void, done: () => void): void {
    if (!netns) {
      // the host's network: a plain connection
      const c = net.connect({ host: '127.0.0.1', port });
      // a socket queues writes until it is connected
      s.consume((d) => { if (!c.destroyed) c.write(d); }, () => { if (!c.destroyed) c.end(); });
      c.on('data', (d: Buffer) => s.write(d));
      c.on('end', () => { s.end(); done(); });
      c.on('error', (e) => fail(`failed to connect to localhost:${port}: ${e.message}`));
      s.on('close', () => c.destroy());
      return;
    }
    const child = spawn(this.backend.nsconnect, [netns, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    child.stdout.on('data', (d: Buffer) => s.write(d));
    child.stdin.on('error', () => undefined);
    s.consume((d) => child.stdin.write(d), () => child.stdin.end());
    s.on('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
    child.on('error', (e) => fail(`port forward helper: ${e.message}`));
    child.on('close', (code) => {
      if (code === 0) { s.end(); done(); } else fail(stderr.trim() || `port forward helper exited with ${code}`);
    });
  }
}

/** Waits for the client to open the streams named in `want` (by their "streamType" header). */
function collectStreams(session: SpdySession, want: Set<string>): Promise<Map<string, SpdyStream>> {
  return new Promise((resolve, reject) => {
    const got = new Map<string, SpdyStream>();
    const timer = setTimeout(() => { cleanup(); reject(new Error('timed out waiting for client to create streams')); }, STREAM_CREATION_TIMEOUT_MS);
    const onStream = (s: SpdyStream) => {
      const type = s.headers.streamtype;
      if (!want.has(type) || got.has(type)) { s.end(); return; }
      got.set(type, s);
      if (got.size === want.size) { cleanup(); resolve(got); }
    };
    const onClose = () => { cleanup(); reject(new Error('connection closed before the streams were created')); };
    const cleanup = () => { clearTimeout(timer); session.off('stream', onStream); session.off('close', onClose); };
    session.on('stream', onStream);
    session.on('close', onClose);
  });
}

/** metav1.Status as the v4 error stream carries it. */
function statusJson(failure?: string, exitCode?: number): string {
  if (failure === undefined && !exitCode) return JSON.stringify({ metadata: {}, status: 'Success' });
  if (failure !== undefined) return JSON.stringify({ metadata: {}, status: 'Failure', message: failure });
  return JSON.stringify({
    metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command, exit status ${exitCode}`,
    reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  });
}
