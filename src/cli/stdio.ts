// The CLI's standard output and error. Under Bun, making process.stdout or process.stderr costs ~4 ms of CPU
// each (a Node-compatible stream built in JavaScript) — a third of a short command's work — and turns the
// descriptor non-blocking. So plain output is written straight to the descriptor, and the streams are made
// only where a stream is needed (piping a download to stdout, progress, prompts, terminal size); once a
// descriptor's stream exists, everything for it goes through the stream, which keeps the order of the output.
import type { WriteStream } from 'tty';

const streams: { 1?: WriteStream; 2?: WriteStream } = {};

/** A closed stdout pipe (`berth logs x | head -1`) ends the CLI quietly, like Go's death by SIGPIPE. */
function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(141);
  throw err;
}

/** process.stdout, made on first use (with the EPIPE rule). */
export function stdout(): WriteStream {
  if (!streams[1]) {
    streams[1] = process.stdout as WriteStream;
    streams[1].on('error', onStdoutError);
  }
  return streams[1];
}

/** process.stderr, made on first use. */
export function stderr(): WriteStream {
  return (streams[2] ??= process.stderr as WriteStream);
}

/**
 * Whether the descriptor is a terminal, without making its stream. A terminal is a character device: pipes and
 * files (the common case when output is captured) are answered by fstat alone; node:tty, whose loading costs
 * ~2 ms of CPU under Bun, is asked only about character devices (a terminal, or /dev/null).
 */
export function isTerminal(fd: 0 | 1 | 2): boolean {
  try {
    if (!(require('fs') as typeof import('fs')).fstatSync(fd).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return (require('tty') as typeof import('tty')).isatty(fd);
}

let sleeper: Int32Array | undefined;

/** Writes all of `data` to stdout (1) or stderr (2). */
export function write(fd: 1 | 2, data: string | Uint8Array): void {
  const s = streams[fd];
  if (s) { s.write(data); return; }
  const fs: typeof import('fs') = require('fs');
  let buf = typeof data === 'string' ? Buffer.from(data) : data;
  while (buf.length > 0) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a descriptor someone else made non-blocking: wait a millisecond for the reader
      if (code === 'EAGAIN') { Atomics.wait(sleeper ??= new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); continue; }
      if (code === 'EPIPE') { if (fd === 1) process.exit(141); return; }
      throw err;
    }
  }
}

/** Resolves once the streams made so far have handed their buffered output to the system. */
export function drained(): Promise<void> {
  const pending = [streams[1], streams[2]].filter((s): s is WriteStream => !!s && s.writableLength > 0);
  return Promise.all(pending.map((s) => new Promise<void>((r) => s.once('drain', () => r())))).then(() => undefined);
}
