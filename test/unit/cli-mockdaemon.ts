// A fake Engine API daemon on a unix socket for the CLI tests: just enough of the API (create, attach with
// a 101 hijack and stdcopy frames, wait, start, exec, logs, list, inspect, images, pull progress) to drive
// the berth CLI's flows and record the order of its requests.
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as fs from 'fs';

export interface Recorded { method: string; path: string; query: Record<string, string>; body: string; headers: http.IncomingHttpHeaders }

interface FakeContainer {
  id: string;
  name: string;
  config: Record<string, any>;
  hostConfig: Record<string, any>;
  state: 'created' | 'running' | 'exited';
  exitCode: number;
  attached: { socket: net.Socket; tty: boolean; stdin: boolean }[];
  waiters: ((code: number) => void)[];
  stdinBuf: Buffer[];
  stdinClosed: boolean;
}

export function frame(type: number, data: string | Buffer): Buffer {
  const p = typeof data === 'string' ? Buffer.from(data) : data;
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(p.length, 4);
  return Buffer.concat([h, p]);
}

export class MockDaemon {
  readonly socketPath: string;
  readonly requests: Recorded[] = [];
  readonly containers = new Map<string, FakeContainer>();
  images = new Set<string>(['docker.io/library/busybox:latest']);
  list: unknown[] = [];
  imageList: unknown[] = [];
  execs = new Map<string, { container: string; cmd: string[]; exitCode: number; tty: boolean }>();
  /** Set to delay the wait response headers (simulates a daemon that only answers at exit). */
  waitHeadersAtExit = false;
  private server: http.Server;
  private n = 0;

  constructor() {
    this.socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'berth-mock-')), 'd.sock');
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
  }

  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(this.socketPath, r));
  }

  close(): Promise<void> {
    for (const c of this.containers.values()) for (const a of c.attached) a.socket.destroy();
    return new Promise((r) => {
      this.server.close(() => {
        fs.rmSync(path.dirname(this.socketPath), { recursive: true, force: true });
        r();
      });
      (this.server as http.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }

  get host(): string { return `unix://${this.socketPath}`; }

  /** The request paths (without version prefix and query) in order. */
  get order(): string[] { return this.requests.map((r) => `${r.method} ${r.path}`); }

  private record(req: http.IncomingMessage, body: string): Recorded {
    const u = new URL(req.url ?? '/', 'http://x');
    const query: Record<string, string> = {};
    u.searchParams.forEach((v, k) => { query[k] = query[k] !== undefined ? query[k] + ',' + v : v; });
    const rec = { method: req.method ?? '', path: u.pathname.replace(/^\/v1\.\d+/, ''), query, body, headers: req.headers };
    this.requests.push(rec);
    return rec;
  }

  private find(ref: string): FakeContainer | undefined {
    for (const c of this.containers.values()) if (c.id.startsWith(ref) || c.name === ref) return c;
    return undefined;
  }

  private json(res: http.ServerResponse, status: number, v: unknown): void {
    const s = JSON.stringify(v);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
    res.end(s);
  }

  private error(res: http.ServerResponse, status: number, message: string): void {
    this.json(res, status, { message });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r = this.record(req, body);
      this.route(r, res);
    });
  }

  private route(r: Recorded, res: http.ServerResponse): void {
    const p = r.path;
    let m: RegExpExecArray | null;
    if (r.method === 'GET' && p === '/version') {
      return this.json(res, 200, { Platform: { Name: 'berth' }, Version: '0.1.0', ApiVersion: '1.51', MinAPIVersion: '1.24', GitCommit: 'abc', GoVersion: 'node', Os: 'linux', Arch: 'amd64', BuildTime: '2025-01-02T03:04:05.000000000+00:00', Experimental: false });
    }
    if (r.method === 'GET' && p === '/info') {
      return this.json(res, 200, { ID: 'X', Containers: 2, ContainersRunning: 1, ContainersPaused: 0, ContainersStopped: 1, Images: 3, Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs']], Plugins: { Volume: ['local'], Network: ['bridge', 'host'], Log: ['json-file'] }, MemoryLimit: true, NCPU: 2, MemTotal: 8254386176, OSType: 'linux', Architecture: 'x86_64', KernelVersion: '6.1.0', OperatingSystem: 'Debian GNU/Linux 12 (bookworm)', Name: 'host1', ServerVersion: '0.1.0', DockerRootDir: '/var/lib/berth', Swarm: { LocalNodeState: 'inactive' }, Runtimes: { runc: {}, crun: {} }, DefaultRuntime: 'crun', SecurityOptions: ['name=seccomp,profile=builtin', 'name=cgroupns'], LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: '2', InitBinary: 'docker-init', ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' }, Debug: false, ExperimentalBuild: false, LiveRestoreEnabled: false, Warnings: null });
    }
    if (r.method === 'GET' && p === '/containers/json') return this.json(res, 200, this.list);
    if (r.method === 'GET' && p === '/images/json') return this.json(res, 200, this.imageList);
    if (r.method === 'POST' && p === '/containers/create') {
      const body = JSON.parse(r.body);
      const image = String(body.Image);
      const full = image.includes(':') ? (image.includes('/') ? image : `docker.io/library/${image}`) : `docker.io/library/${image}:latest`;
      if (!this.images.has(full)) return this.error(res, 404, `No such image: ${image.includes(':') ? image : image + ':latest'}`);
      const id = (++this.n).toString(16).padStart(2, '0').repeat(32);
      const { HostConfig, NetworkingConfig, ...config } = body;
      void NetworkingConfig;
      this.containers.set(id, { id, name: r.query.name ?? `c${this.n}`, config, hostConfig: HostConfig, state: 'created', exitCode: 0, attached: [], waiters: [], stdinBuf: [], stdinClosed: false });
      return this.json(res, 201, { Id: id, Warnings: [] });
    }
    if (r.method === 'POST' && p === '/images/create') {
      if (r.query.fromSrc !== undefined) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status: `sha256:${'ab'.repeat(32)}` }) + '\r\n');
        return;
      }
      const ref = `${r.query.fromImage}:${r.query.tag}`;
      if (r.query.fromImage?.includes('nosuch')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(JSON.stringify({ status: `Pulling from ${r.query.fromImage}` }) + '\r\n');
        res.end(JSON.stringify({ errorDetail: { message: 'pull access denied for nosuch, repository does not exist' }, error: 'pull access denied for nosuch, repository does not exist' }) + '\r\n');
        return;
      }
      this.images.add(ref);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(JSON.stringify({ status: `Pulling from library/${r.query.fromImage?.split('/').pop()}`, id: r.query.tag }) + '\r\n');
      res.write(JSON.stringify({ status: 'Downloading', progressDetail: { current: 10, total: 100 }, id: 'aaaa' }) + '\r\n');
      res.write(JSON.stringify({ status: 'Pull complete', progressDetail: {}, id: 'aaaa' }) + '\r\n');
      res.end(JSON.stringify({ status: `Status: Downloaded newer image for ${r.query.fromImage}:${r.query.tag}` }) + '\r\n');
      return;
    }
    if ((m = /^\/containers\/([^/]+)\/json$/.exec(p)) && r.method === 'GET') {
      const c = this.find(decodeURIComponent(m[1]));
      if (!c) return this.error(res, 404, `No such container: ${decodeURIComponent(m[1])}`);
      return this.json(res, 200, {
        Id: c.id, Name: '/' + c.name,
        State: { Status: c.state, Running: c.state === 'running', Paused: false, Restarting: false, ExitCode: c.exitCode, Pid: 0 },
        Config: c.config, HostConfig: c.hostConfig,
      });
    }
    if ((m = /^\/containers\/([^/]+)\/wait$/.exec(p)) && r.method === 'POST') {
      const c = this.find(m[1]);
      if (!c) return this.error(res, 404, `No such container: ${m[1]}`);
      if (!this.waitHeadersAtExit) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
      }
      if (c.state === 'exited' && r.query.condition !== 'next-exit' && r.query.condition !== 'removed') {
        if (this.waitHeadersAtExit) res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ StatusCode: c.exitCode }));
        return;
      }
      c.waiters.push((code) => {
        if (this.waitHeadersAtExit) res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ StatusCode: code, Error: null }));
      });
      return;
    }
    if ((m = /^\/containers\/([^/]+)\/start$/.exec(p)) && r.method === 'POST') {
      const c = this.find(m[1]);
      if (!c) return this.error(res, 404, `No such container: ${m[1]}`);
      const cmd: string[] = c.config.Cmd ?? [];
      if (cmd[0] === 'nonexistent') {
        return this.error(res, 400, 'failed to create task for container: exec: "nonexistent": executable file not found in $PATH: unknown');
      }
      res.writeHead(204);
      res.end();
      this.runContainer(c);
      return;
    }
    if ((m = /^\/containers\/([^/]+)\/(stop|kill|pause|unpause|restart)$/.exec(p)) && r.method === 'POST') {
      const c = this.find(m[1]);
      if (!c) return this.error(res, 404, `No such container: ${m[1]}`);
      res.writeHead(204);
      res.end();
      return;
    }
    if ((m = /^\/containers\/([^/]+)\/resize$/.exec(p)) && r.method === 'POST') { res.writeHead(200); res.end(); return; }
    if ((m = /^\/containers\/([^/]+)$/.exec(p)) && r.method === 'DELETE') {
      const c = this.find(m[1]);
      if (!c) return this.error(res, 404, `No such container: ${m[1]}`);
      this.containers.delete(c.id);
      res.writeHead(204);
      res.end();
      return;
    }
    if ((m = /^\/containers\/([^/]+)\/rename$/.exec(p)) && r.method === 'POST') {
      const c = this.find(m[1]);
      if (!c) return this.error(res, 404, `No such container: ${m[1]}`);
      c.name = r.query.name;
      res.writeHead(204); res.end(); return;
    }
    if ((m = /^\/containers\/([^/]+)\/top$/.exec(p)) && r.method === 'GET') {
      return this.json(res, 200, { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '4242', '4222', '0', '10:00', '?', '00:00:00', 'sleep 100']] });
    }
    if ((m = /^\/containers\/([^/]+)\/logs$/.exec(p)) && r.method === 'GET') {
      const c = this.find(m[1]);
      if (!c) return this.error(res, 404, `No such container: ${m[1]}`);
      res.writeHead(200, { 'Content-Type': c.config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
      if (c.config.Tty) res.end('tty line\r\n');
      else res.end(Buffer.concat([frame(1, 'out line\n'), frame(2, 'err line\n')]));
      return;
    }
    if ((m = /^\/containers\/([^/]+)\/exec$/.exec(p)) && r.method === 'POST') {
      const c = this.find(m[1]);
      if (!c) return this.error(res, 404, `No such container: ${m[1]}`);
      const body = JSON.parse(r.body);
      const id = 'e'.repeat(63) + String(this.execs.size);
      this.execs.set(id, { container: c.id, cmd: body.Cmd, exitCode: 0, tty: !!body.Tty });
      return this.json(res, 201, { Id: id });
    }
    if ((m = /^\/exec\/([^/]+)\/json$/.exec(p)) && r.method === 'GET') {
      const e = this.execs.get(m[1]);
      if (!e) return this.error(res, 404, `No such exec instance: ${m[1]}`);
      return this.json(res, 200, { ID: m[1], Running: false, ExitCode: e.exitCode });
    }
    if ((m = /^\/exec\/([^/]+)\/start$/.exec(p)) && r.method === 'POST') { res.writeHead(200); res.end(); return; }
    if ((m = /^\/exec\/([^/]+)\/resize$/.exec(p)) && r.method === 'POST') { res.writeHead(201); res.end(); return; }
    if ((m = /^\/images\/(.+)\/json$/.exec(p)) && r.method === 'GET') {
      const ref = decodeURIComponent(m[1]);
      if (ref === 'busybox') return this.json(res, 200, { Id: 'sha256:' + 'cd'.repeat(32), RepoTags: ['busybox:latest'], Config: { Cmd: ['sh'] } });
      return this.error(res, 404, `No such image: ${ref}`);
    }
    if ((m = /^\/images\/(.+)\/tag$/.exec(p)) && r.method === 'POST') { res.writeHead(201); res.end(); return; }
    if ((m = /^\/images\/(.+)$/.exec(p)) && r.method === 'DELETE') {
      const ref = decodeURIComponent(m[1]);
      if (ref === 'busybox') return this.json(res, 200, [{ Untagged: 'busybox:latest' }, { Deleted: 'sha256:' + 'cd'.repeat(32) }]);
      return this.error(res, 404, `No such image: ${ref}`);
    }
    if (/^\/(networks|volumes)\//.test(p)) return this.error(res, 404, `network ${p.split('/').pop()} not found`);
    if (/^\/plugins\//.test(p)) return this.error(res, 404, `plugin "${p.split('/')[2]}" not found`);
    this.error(res, 404, `page not found: ${p}`);
  }

  /** Simulates a container process once started: writes to attached streams and then exits. */
  private runContainer(c: FakeContainer): void {
    c.state = 'running';
    const cmd: string[] = c.config.Cmd ?? [];
    const tty = !!c.config.Tty;
    const out = (type: number, s: string | Buffer) => {
      for (const a of c.attached) if (!a.socket.destroyed) a.socket.write(tty ? s : frame(type, s));
    };
    const exit = (code: number) => {
      c.state = 'exited';
      c.exitCode = code;
      for (const a of c.attached) a.socket.end();
      for (const w of c.waiters.splice(0)) w(code);
      if (c.hostConfig?.AutoRemove) this.containers.delete(c.id);
    };
    setTimeout(() => {
      switch (cmd[0]) {
        case 'echo': out(1, cmd.slice(1).join(' ') + '\n'); exit(0); break;
        case 'fail': out(2, 'failing\n'); exit(parseInt(cmd[1] ?? '1', 10)); break;
        case 'cat': {
          const flush = () => { for (const b of c.stdinBuf.splice(0)) out(1, b); };
          const tick = () => {
            flush();
            if (c.stdinClosed) { exit(0); return; }
            setTimeout(tick, 5);
          };
          tick();
          break;
        }
        case 'sleep': setTimeout(() => exit(0), parseFloat(cmd[1] ?? '1') * 1000); break;
        default: exit(0);
      }
    }, 10);
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const rec = this.record(req, '');
    let m: RegExpExecArray | null;
    if ((m = /^\/containers\/([^/]+)\/attach$/.exec(rec.path))) {
      const c = this.find(m[1]);
      if (!c) {
        const s = JSON.stringify({ message: `No such container: ${m[1]}` });
        socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`);
        return;
      }
      const tty = !!c.config.Tty;
      socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.${tty ? 'raw' : 'multiplexed'}-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
      const stdin = rec.query.stdin === '1';
      c.attached.push({ socket, tty, stdin });
      const onData = (d: Buffer) => { if (stdin) c.stdinBuf.push(d); };
      if (head.length) onData(head);
      socket.on('data', onData);
      socket.on('end', () => { if (stdin) c.stdinClosed = true; });
      socket.on('error', () => undefined);
      return;
    }
    if ((m = /^\/exec\/([^/]+)\/start$/.exec(rec.path))) {
      const e = this.execs.get(m[1]);
      // consume the JSON body first (Content-Length bytes), the rest is the exec's stdin
      const len = parseInt(String(req.headers['content-length'] ?? '0'), 10);
      let buf = head;
      const start = (rest: Buffer) => {
        rec.body = buf.subarray(0, len).toString();
        if (!e) {
          const s = JSON.stringify({ message: `No such exec instance: ${m![1]}` });
          socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`);
          return;
        }
        socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.${e.tty ? 'raw' : 'multiplexed'}-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
        const out = (type: number, s: string | Buffer) => socket.write(e.tty ? s : frame(type, s));
        if (e.cmd[0] === 'cat') {
          if (rest.length) out(1, rest);
          socket.on('data', (d: Buffer) => out(1, d));
          socket.on('end', () => socket.end());
        } else if (e.cmd[0] === 'fail') {
          e.exitCode = parseInt(e.cmd[1] ?? '1', 10);
          out(2, 'exec failed\n');
          socket.end();
        } else {
          out(1, e.cmd.join(' ') + '\n');
          socket.end();
        }
      };
      if (buf.length >= len) { start(buf.subarray(len)); return; }
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= len) { socket.removeListener('data', onData); start(buf.subarray(len)); }
      };
      socket.on('data', onData);
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  }
}
