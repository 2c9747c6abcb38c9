// The client side of attach/exec streams (docker's hijackedIOStreamer + MonitorTtySize + ForwardAllSignals):
// raw terminal mode, the ctrl-p,ctrl-q escape sequence, stdcopy demultiplexing, stdin piping with a
// half-close (socket.end()) at EOF while output keeps flowing, resize on start and SIGWINCH.
import type { Hijacked, Client } from '../../client';
import { StdcopyDemuxer } from '../../client/stdcopy';
import { isTerminal, stdout, write } from '../stdio';

/** term.EscapeError. */
export class EscapeError extends Error {
  constructor() { super('read escape sequence'); }
}

const ASCII = ['ctrl-@', 'ctrl-a', 'ctrl-b', 'ctrl-c', 'ctrl-d', 'ctrl-e', 'ctrl-f', 'ctrl-g', 'ctrl-h', 'ctrl-i', 'ctrl-j',
  'ctrl-k', 'ctrl-l', 'ctrl-m', 'ctrl-n', 'ctrl-o', 'ctrl-p', 'ctrl-q', 'ctrl-r', 'ctrl-s', 'ctrl-t', 'ctrl-u', 'ctrl-v',
  'ctrl-w', 'ctrl-x', 'ctrl-y', 'ctrl-z', 'ctrl-[', 'ctrl-\\', 'ctrl-]', 'ctrl-^', 'ctrl-_'];

/** term.ToBytes: "ctrl-p,ctrl-q" → [16, 17]. */
export function detachKeyBytes(keys: string): number[] {
  const codes: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) { codes.push(key.charCodeAt(0)); continue; }
    const i = ASCII.indexOf(key);
    if (i >= 0) codes.push(i);
    else if (key === 'DEL') codes.push(127);
    else throw new Error(`Unknown character: '${key}'`);
  }
  return codes;
}

export const DEFAULT_ESCAPE = [16, 17];

/** term.NewEscapeProxy: matches the sequence only across single-byte reads (typed keys). */
export class EscapeProxy {
  private pos = 0;
  constructor(private keys: number[]) {}
  /** Returns the bytes to forward, or throws EscapeError when the sequence completes. */
  feed(chunk: Buffer): Buffer {
    if (this.keys.length === 0) return chunk;
    // Node reads whatever has arrived, so keys typed in quick succession can come in one read (Go's reads
    // see them one by one). A read no longer than the sequence is typed keys, not a paste: match it byte by byte.
    if (chunk.length > 1 && chunk.length <= this.keys.length) {
      const out: Buffer[] = [];
      for (const byte of chunk) out.push(this.feed(Buffer.from([byte])));
      return Buffer.concat(out);
    }
    const held = () => Buffer.from(this.keys.slice(0, this.pos));
    if (chunk.length !== 1) {
      if (this.pos > 0) { const h = held(); this.pos = 0; return Buffer.concat([h, chunk]); }
      return chunk;
    }
    if (chunk[0] !== this.keys[this.pos]) {
      if (this.pos > 0) { const h = held(); this.pos = 0; return Buffer.concat([h, chunk]); }
      return chunk;
    }
    if (this.pos === this.keys.length - 1) throw new EscapeError();
    this.pos++;
    return Buffer.alloc(0);
  }
}

// Terminal state is restored on every exit path (see restoreTerminal, called by main's exit()).
let rawSet = false;
export function setRawTerminal(): void {
  const stdin = process.stdin as NodeJS.ReadStream;
  if (stdin.isTTY && !rawSet) {
    stdin.setRawMode(true);
    rawSet = true;
  }
}
export function restoreTerminal(): void {
  if (rawSet) {
    rawSet = false;
    try { (process.stdin as NodeJS.ReadStream).setRawMode(false); } catch { /* stdin gone */ }
  }
}
process.on('exit', restoreTerminal);

export interface StreamOptions {
  tty: boolean;
  /** Local stdin is sent to the container. */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  detachKeys?: string;
}

export interface Streamer {
  /** Resolves when output ended (or, without output, when input ended); rejects with EscapeError on detach. */
  done: Promise<void>;
  /** Stops streaming (tears the connection down). */
  close(): void;
}

/** Runs the hijacked stream like docker's hijackedIOStreamer.stream. */
export function streamHijacked(h: Hijacked, o: StreamOptions): Streamer {
  const sock = h.socket;
  let finished = false;
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => { resolveDone = res; rejectDone = rej; });
  const hasOutput = o.stdout || o.stderr;
  let inputDone = false;
  let outputDone = false;

  const finish = (err?: Error) => {
    if (finished) return;
    finished = true;
    restoreTerminal();
    if (o.stdin) process.stdin.pause();
    if (err) rejectDone(err);
    else resolveDone();
  };

  // input
  let escape: EscapeProxy | null = null;
  if (o.stdin && o.tty) {
    setRawTerminal();
    let keys = DEFAULT_ESCAPE;
    if (o.detachKeys) {
      try { keys = detachKeyBytes(o.detachKeys); } catch (err) {
        write(2, `WARN[0000] invalid detach escape keys, using default: ${(err as Error).message}\n`);
      }
    }
    escape = new EscapeProxy(keys);
  }
  const endInput = () => {
    if (inputDone) return;
    inputDone = true;
    try { sock.end(); } catch { /* already closed */ }
    if (!hasOutput) finish();
  };
  if (o.stdin) {
    const stdin = process.stdin;
    stdin.on('data', (chunk: Buffer) => {
      if (finished || inputDone) return;
      let data = chunk;
      if (escape) {
        try {
          data = escape.feed(chunk);
        } catch (err) {
          inputDone = true;
          finish(err as Error);
          sock.destroy();
          return;
        }
      }
      if (data.length) sock.write(data);
    });
    stdin.on('end', endInput);
    stdin.on('error', endInput);
    stdin.resume();
  } else {
    // docker half-closes right away when stdin is not attached
    endInput();
  }

  // output
  if (hasOutput) {
    const out = (b: Buffer) => { if (o.stdout) write(1, b); };
    const err = (b: Buffer) => { if (o.stderr) write(o.tty ? 1 : 2, b); };
    const demux = o.tty ? null : new StdcopyDemuxer(out, err);
    const onData = (chunk: Buffer) => {
      if (finished) return;
      if (!demux) { out(chunk); return; }
      try {
        demux.push(chunk);
      } catch (e) {
        finish(e as Error);
        sock.destroy();
      }
    };
    if (h.head && h.head.length) onData(h.head);
    sock.on('data', onData);
    const endOutput = () => {
      if (outputDone) return;
      outputDone = true;
      finish();
    };
    sock.on('end', endOutput);
    sock.on('close', endOutput);
  } else {
    sock.on('data', () => undefined);
    sock.on('close', () => { if (inputDone) finish(); });
  }
  sock.on('error', (e) => { if (!finished) { if (hasOutput) finish(); else finish(e); } });

  return {
    done,
    close() {
      finish();
      sock.destroy();
    },
  };
}

/** The current terminal size of stdout as [height, width]; [0, 0] when it is not a terminal. */
export function ttySize(): [number, number] {
  if (!isTerminal(1)) return [0, 0];
  const out = stdout();
  return [out.rows || 0, out.columns || 0];
}

/** MonitorTtySize: resize now (retrying up to 10 times), then on every SIGWINCH. */
export function monitorTtySize(client: Client, id: string, isExec: boolean, first?: [number, number]): void {
  const resize = (h: number, w: number) => {
    if (h === 0 && w === 0) return Promise.resolve();
    return (isExec ? client.execResize(id, h, w) : client.containerResize(id, h, w)).then(() => undefined);
  };
  const [h, w] = first ?? ttySize();
  resize(h, w).catch(async () => {
    for (let retry = 0; retry < 10; retry++) {
      await new Promise((r) => setTimeout(r, (retry + 1) * 10));
      try { await resize(...ttySize()); return; } catch { /* retry */ }
    }
    write(2, 'failed to resize tty, using default size\n');
  });
  process.on('SIGWINCH', () => { resize(...ttySize()).catch(() => undefined); });
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPWR', 'SIGSYS', 'SIGXCPU', 'SIGXFSZ', 'SIGTRAP', 'SIGABRT'];

/**
 * ForwardAllSignals: every signal the CLI receives goes to the container (POST /kill). A third
 * SIGINT/SIGTERM forces the CLI out, like docker's "got 3 SIGTERM/SIGINTs, forcefully exiting".
 */
export function forwardSignals(client: Client, id: string): () => void {
  let terminations = 0;
  const handlers = FORWARDED.map((sig) => {
    const fn = () => {
      if (sig === 'SIGINT' || sig === 'SIGTERM') {
        terminations++;
        if (terminations >= 3) {
          write(2, '\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n');
          restoreTerminal();
          process.exit(1);
        }
      }
      client.containerKill(id, sig.slice(3)).catch(() => undefined);
    };
    try { process.on(sig, fn); } catch { /* not supported here */ }
    return [sig, fn] as const;
  });
  return () => { for (const [sig, fn] of handlers) process.removeListener(sig, fn); };
}

/** CheckTty. */
export function checkTty(attachStdin: boolean, tty: boolean): void {
  if (tty && attachStdin && !isTerminal(0)) throw new Error('the input device is not a TTY');
}
