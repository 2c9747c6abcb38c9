// Processes started in a running CRI container (ExecSync, and Exec through the streaming server), each under its
// own berth-shim in exec mode with the container's own process settings (user, capabilities, environment,
// no_new_privs; seccomp and the namespaces come with the container).
import { promises as fs } from 'fs';
import type * as net from 'net';
import { newId } from '../common/ids';
import { errorMessage } from '../common/errors';
import { writeFileAtomic } from '../common/atomic';
import { Shim } from '../runtime';
import type { CriContext } from './context';
import type { ContainerRecord } from './store';
import { deadlineExceeded, failedPrecondition, invalidArgument, internal } from './errors';

/** Splits the shim's attach stream (8-byte header: stream, 0, 0, 0, uint32 BE length) into stdout/stderr chunks. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onData: (stream: 1 | 2, data: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const len = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + len) break;
      const stream = this.pending[0] === 2 ? 2 : 1;
      this.onData(stream, this.pending.subarray(8, 8 + len));
      this.pending = this.pending.subarray(8 + len);
    }
  }
}

export interface ExecHandle {
  shim: Shim;
  /** the attach connection: framed output from the process, stdin to it */
  conn: net.Socket;
  pid: number;
  /** exit code once the process is gone (state files removed) */
  exited: Promise<number>;
}

export class ExecRunner {
  constructor(private readonly ctx: CriContext) {}

  /** Starts `cmd` in the container; output flows on the returned connection from the first byte. */
  async start(c: ContainerRecord, cmd: string[], opts: { tty: boolean; stdin: boolean }): Promise<ExecHandle> {
    if (!cmd?.length) throw invalidArgument('exec command must not be empty');
    if (c.state !== 'running' || !c.process || !this.ctx.shims.has(c.id)) throw failedPrecondition(`container "${c.id}" is not running`);
    const execId = newId();
    const stateDir = this.ctx.layout.execState(c.id, execId);
    const processFile = `${stateDir}.process.json`;
    const base = c.process as { env?: string[] };
    const env = [...(base.env ?? [])];
    if (opts.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
    const proc = { ...c.process, args: cmd, terminal: opts.tty, env };
    await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(processFile, JSON.stringify(proc), 0o600, false);
    const cleanup = async () => {
      await fs.rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
      await fs.rm(processFile, { force: true }).catch(() => undefined);
    };
    let shim: Shim | undefined;
    try {
      shim = await Shim.spawn({
        runtimePath: this.ctx.driver.execPath, runtimeRoot: this.ctx.driver.root, id: c.id, bundle: this.ctx.layout.bundle(c.id), stateDir,
        tty: opts.tty, stdin: opts.stdin, stdinOnce: opts.stdin && !opts.tty, exec: { processFile, execId },
      });
      const conn = await shim.attach();
      const pid = await shim.start();
      const s = shim;
      const exited = s.exited.then(async (st) => { await cleanup(); return st.exitCode; });
      return { shim: s, conn, pid, exited };
    } catch (err) {
      shim?.close();
      await cleanup();
      // like runc's: the executable is not there (the kubelet shows this as exit code 127/126 of the probe)
      throw internal(`failed to exec in container: failed to start exec "${execId}": ${errorMessage(err)}`);
    }
  }

  /** ExecSync: runs to completion (or is killed at the timeout, seconds; 0 = none) and returns its output. */
  async sync(c: ContainerRecord, cmd: string[], timeoutSec: number): Promise<{ stdout: Buffer; stderr: Buffer; exit_code: number }> {
    const h = await this.start(c, cmd, { tty: false, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const dec = new FrameDecoder((s, d) => (s === 2 ? err : out).push(Buffer.from(d)));
    const drained = new Promise<void>((resolve) => {
      h.conn.on('data', (d: Buffer) => dec.push(d));
      h.conn.on('end', () => resolve());
      h.conn.on('close', () => resolve());
      h.conn.on('error', () => resolve());
    });
    h.conn.end(); // no stdin
    let timer: NodeJS.Timeout | undefined;
    const timedOut = timeoutSec > 0
      ? new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutSec * 1000); })
      : new Promise<'timeout'>(() => {});
    const result = await Promise.race([Promise.all([h.exited, drained]).then(([code]) => code), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      try { process.kill(h.pid, 'SIGKILL'); } catch { /* gone */ }
      await h.exited.catch(() => undefined);
      h.conn.destroy();
      throw deadlineExceeded(`timeout ${timeoutSec}s exceeded: context deadline exceeded`);
    }
    return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exit_code: result };
  }
}
