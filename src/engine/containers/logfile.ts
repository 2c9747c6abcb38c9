// Reading docker json-file logs: tail, since/until, follow. The shim writes them; we only read.
import { createReadStream, promises as fs, watch, FSWatcher } from 'fs';
import * as readline from 'readline';

export interface LogEntry { log: string; stream: 'stdout' | 'stderr'; time: string }
export interface LogQuery { stdout: boolean; stderr: boolean; since?: number; until?: number; tail?: number; follow: boolean }

/** Seconds since the epoch (fractional) of an RFC3339Nano timestamp. */
export function entrySeconds(time: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return Date.parse(time) / 1000;
  return Date.parse(m[1] + m[3]) / 1000 + (m[2] ? parseFloat('0' + m[2]) : 0);
}

function accept(q: LogQuery, e: LogEntry): boolean {
  if (e.stream === 'stdout' ? !q.stdout : !q.stderr) return false;
  if (q.since !== undefined || q.until !== undefined) {
    const t = entrySeconds(e.time);
    if (q.since !== undefined && t < q.since) return false;
    if (q.until !== undefined && t > q.until) return false;
  }
  return true;
}

function parse(line: string): LogEntry | undefined {
  try { return JSON.parse(line) as LogEntry; } catch { return undefined; }
}

/**
 * Streams matching entries to `emit`. With follow, keeps reading appended lines until `stopped` resolves
 * (the container exited) and the file is drained, or until `cancel` is called.
 */
export async function readLogs(file: string, q: LogQuery, emit: (e: LogEntry) => void, stopped: Promise<unknown> | undefined, signal: AbortSignal): Promise<void> {
  let position = 0;
  let size = 0;
  try { size = (await fs.stat(file)).size; } catch { /* no log yet */ }
  if (size > 0) {
    const rl = readline.createInterface({ input: createReadStream(file, { start: 0, end: size - 1 }), crlfDelay: Infinity });
    // --tail needs the last N matching entries: keep a ring of them.
    const ring: LogEntry[] = [];
    const tail = q.tail !== undefined && q.tail >= 0 ? q.tail : -1;
    for await (const line of rl) {
      if (signal.aborted) return;
      const e = parse(line);
      if (!e || !accept(q, e)) continue;
      if (tail < 0) emit(e);
      else if (tail > 0) { ring.push(e); if (ring.length > tail) ring.shift(); }
    }
    for (const e of ring) emit(e);
    position = size;
  }
  if (!q.follow || !stopped || signal.aborted) return;

  let done = false;
  void stopped.then(() => { done = true; wake(); });
  let wake: () => void = () => {};
  let watcher: FSWatcher | undefined;
  const onAbort = () => { done = true; wake(); };
  signal.addEventListener('abort', onAbort);
  let pending = '';
  try {
    for (;;) {
      const changed = new Promise<void>((resolve) => { wake = resolve; });
      if (!watcher) {
        try { watcher = watch(file, () => wake()); } catch { /* file not created yet */ }
      }
      // Read whatever was appended since the last read. `finished` is sampled before the read: once the
      // container has exited the shim has written every line, so one more read after that drains the file.
      const finished = done;
      let st;
      try { st = await fs.stat(file); } catch { st = undefined; }
      if (st && st.size > position) {
        const fh = await fs.open(file, 'r');
        try {
          const buf = Buffer.alloc(st.size - position);
          await fh.read(buf, 0, buf.length, position);
          position = st.size;
          pending += buf.toString('utf8');
        } finally { await fh.close(); }
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const e = parse(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          if (e && accept(q, e)) emit(e);
        }
        continue;
      }
      if (finished || signal.aborted) return;
      // Wake on a change, the container's exit, or a periodic check (watch events can be coalesced).
      await Promise.race([changed, new Promise((r) => setTimeout(r, 250))]);
    }
  } finally {
    watcher?.close();
    signal.removeEventListener('abort', onAbort);
  }
}
