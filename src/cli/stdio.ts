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
// writes handed to a stream and not yet reported written (the stream's callback), and who waits for none
const pending = { 1: 0, 2: 0 };
let waiters: Array<() => void> = [];

function settle(): void {
  if (pending[1] + pending[2] > 0) return;
  const w = waiters;
  waiters = [];
  for (const f of w) f();
}

/**
 * Writes all of `data` to stdout (1) or stderr (2): straight to the descriptor (blocking, so it is in the pipe or
 * file before the CLI exits), or through the descriptor's stream once one exists, counted until it is written.
 */
export function write(fd: 1 | 2, data: string | Uint8Array): void {
  const s = streams[fd];
  if (s) {
    pending[fd]++;
    s.write(data, () => { pending[fd]--; settle(); });
    return;
  }
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

/** Resolves once everything handed to write() is written (exit waits for it). */
export function drained(): Promise<void> {
  if (pending[1] + pending[2] === 0) return Promise.resolve();
  return new Promise((resolve) => waiters.push(resolve));
}

/**
 * Copies a download (save, export, cp to `-`) to stdout chunk by chunk through write(). Not pipeline() into
 * process.stdout: under Bun that stream may still hold data when the CLI exits, and the reader of the pipe
 * sees a truncated archive.
 */
export async function copyTo(fd: 1 | 2, src: AsyncIterable<string | Uint8Array>): Promise<void> {
  for await (const chunk of src) write(fd, chunk);
}

/** Output for the progress renderer: write() for the text; the stream is made only for a terminal's width. */
export function progressOut(fd: 1 | 2): { write(s: string): void; isTTY: boolean; columns?: number } {
  const tty = isTerminal(fd);
  return { write: (s: string) => write(fd, s), isTTY: tty, columns: tty ? (fd === 1 ? stdout() : stderr()).columns : undefined };
}
