// Joins an API client's hijacked connection to the shim's attach socket: output frames from the shim go
// to the client (raw for a TTY, stdcopy-multiplexed otherwise), the client's bytes go to the process's
// stdin, watched for the detach sequence (Ctrl-P Ctrl-Q by default).
import type { Duplex } from 'stream';
import type * as net from 'net';
import { invalidParameter } from '../../common/errors';

export const DEFAULT_DETACH_KEYS = [16, 17]; // ctrl-p, ctrl-q

/** Docker's --detach-keys syntax: comma-separated "ctrl-<x>" or single characters. */
export function parseDetachKeys(spec: string | undefined): number[] {
  if (!spec) return DEFAULT_DETACH_KEYS;
  const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, '_': 31 };
  return spec.split(',').map((key) => {
    const k = key.trim();
    if (k.length === 1) return k.charCodeAt(0);
    const m = /^ctrl-(.)$/i.exec(k);
    if (m) {
      const c = m[1].toLowerCase();
      if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 96;
      if (c in special) return special[c];
    }
    throw invalidParameter(`Invalid detach keys (${spec}) provided`);
  });
}

/** Holds back a possible prefix of the detach sequence until it is complete (detach) or broken (forward). */
export class DetachFilter {
  private held = 0;
  constructor(private readonly keys: number[]) {}

  /** Returns the bytes to forward and whether the sequence was completed. */
  push(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (!this.keys.length) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      for (let i = 0; i < this.held; i++) out.push(this.keys[i]);
      this.held = 0;
      if (byte === this.keys[0]) this.held = 1; else out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

/** Re-frames the shim's stdcopy stream for the client: raw payloads with a TTY, filtered frames without. */
export class FrameRelay {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly opts: { tty: boolean; stdout: boolean; stderr: boolean }, private readonly write: (b: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      const stream = this.buf[0];
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      if (stream === 1 ? !this.opts.stdout : stream === 2 ? !this.opts.stderr : false) continue;
      this.write(this.opts.tty ? frame.subarray(8) : frame);
    }
  }
}

export function frame(stream: 1 | 2 | 3, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

export interface AttachOptions {
  tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean; detachKeys: number[];
  /**
   * The client ended its stdin (not a detach) without having sent a byte. When it did send bytes, the
   * half-close is passed on to the shim, which (with --stdin-once) closes the process's stdin after
   * writing them, so no byte is lost to a race between the two sockets.
   */
  onStdinEnd?: () => void;
  /** awaited before the client's stream is ended (exec: until its exit code is recorded). */
  beforeEnd?: () => Promise<unknown>;
}

/** Pipes until the shim closes (the process exited) or the client detaches/disconnects. Resolves with how it ended. */
export function relay(client: Duplex, shimConn: net.Socket, opts: AttachOptions): Promise<'exited' | 'detached' | 'disconnected'> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (how: 'exited' | 'detached' | 'disconnected') => {
      if (finished) return;
      finished = true;
      shimConn.destroy();
      if (how === 'disconnected') { client.destroy(); resolve(how); return; }
      const wait = how === 'exited' && opts.beforeEnd ? opts.beforeEnd().catch(() => undefined) : Promise.resolve();
      void wait.then(() => { client.end(); resolve(how); });
    };
    // A client that does not read must not make the daemon buffer for it: stop reading the shim until the client
    // drains. The shim queues at most a few MiB for a connection that falls behind, then drops it.
    const out = new FrameRelay(opts, (b) => {
      if (client.destroyed || client.write(b) || shimConn.isPaused()) return;
      shimConn.pause();
      client.once('drain', () => shimConn.resume());
    });
    shimConn.on('data', (c: Buffer) => out.push(c));
    shimConn.on('end', () => finish('exited'));
    shimConn.on('error', () => finish('exited'));
    client.on('error', () => finish('disconnected'));
    client.on('close', () => finish('disconnected'));
    if (opts.stdin) {
      const filter = new DetachFilter(opts.detachKeys);
      let sent = false;
      client.on('data', (c: Buffer) => {
        const { forward, detach } = filter.push(c);
        if (forward.length) { sent = true; shimConn.write(forward); }
        if (detach) finish('detached');
      });
      client.on('end', () => {
        if (finished) return;
        shimConn.end();
        if (!sent) opts.onStdinEnd?.();
      });
    } else {
      client.on('data', () => { /* stdin not attached: discard */ });
      client.on('end', () => { /* keep streaming output */ });
    }
    // The API layer pauses a hijacked socket until someone listens, so no early keystroke is lost.
    client.resume();
  });
}
