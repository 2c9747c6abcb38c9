// Gives an idle daemon's memory back to the system (run by idle.ts once the API has been quiet a few seconds).
// Measured on a daemon after use (see bench/memory.ts): of ~80 MiB RSS, ~40 MiB are pages of the node binary
// itself (text and read-only data it touched once), ~12-20 MiB the V8 heap, ~9 MiB glibc's main heap and the
// rest thread arenas and stacks. Three steps, each cheap next to a request (a few ms, once per quiet period):
//  1. a full V8 GC, which also starts V8's memory reducer (it shrinks the young generation a few seconds later);
//  2. glibc malloc_trim(0): the free pages of every arena back to the kernel (~4-6 MiB after use);
//  3. the node binary's clean read-only pages (text, rodata) unmapped from this process with MADV_DONTNEED:
//     they stay in the page cache, shared with any other Node process, and fault back in (minor faults, no I/O)
//     as code runs again. Only mappings of the executable (never unmapped, so no range can be reused by
//     something else meanwhile) that are private, not writable and hold no copied-on-write page (RELRO data,
//     relocations) are touched: for those MADV_DONTNEED cannot lose data.
import { readFileSync, readlinkSync } from 'fs';
import * as v8 from 'v8';
import * as vm from 'vm';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import { madviseDontNeedSyscall, mallocTrimSyscall } from '../common/syscalls';

export interface Range { start: number; length: number }

/**
 * The mappings of `exe` in `smaps` (the text of /proc/PID/smaps) that MADV_DONTNEED may drop: private, not
 * writable, with resident pages and no anonymous (copied-on-write) ones.
 */
export function cleanExecutableRanges(smaps: string, exe: string): Range[] {
  const out: Range[] = [];
  let cur: { start: number; end: number; ok: boolean; rss: number; anon: number } | undefined;
  const flush = () => { if (cur?.ok && cur.rss > 0 && cur.anon === 0) out.push({ start: cur.start, length: cur.end - cur.start }); };
  for (const line of smaps.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) ([-rwxsp]{4}) [0-9a-f]+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      flush();
      const [, start, end, perms, name] = head;
      cur = { start: parseInt(start, 16), end: parseInt(end, 16), ok: name === exe && perms[1] === '-' && perms[3] === 'p', rss: -1, anon: -1 };
      continue;
    }
    if (!cur) continue;
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (field) cur[field[1] === 'Rss' ? 'rss' : 'anon'] = Number(field[2]);
  }
  flush();
  return out;
}

let gcFn: (() => void) | undefined;

/** V8's gc(), without starting Node with --expose-gc: the flag set at run time exposes it in new contexts. */
function fullGc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

const rssMiB = () => Math.round(process.memoryUsage.rss() / 1048576 * 10) / 10;

/** The three steps above; each one that fails is logged and skipped. Returns the RSS before and after (MiB). */
export function compactMemory(): { before: number; after: number } {
  const before = rssMiB();
  const t0 = performance.now();
  try { fullGc(); } catch (err) { log.debug('idle GC failed', { error: errorMessage(err) }); }
  try {
    if (mallocTrimSyscall()) {
      const exe = readlinkSync('/proc/self/exe');
      for (const r of cleanExecutableRanges(readFileSync('/proc/self/smaps', 'utf8'), exe)) madviseDontNeedSyscall(r.start, r.length);
    }
  } catch (err) {
    log.debug('returning memory failed', { error: errorMessage(err) });
  }
  const after = rssMiB();
  log.debug('idle: memory compacted', { rssMiB: before, afterMiB: after, ms: Math.round(performance.now() - t0) });
  return { before, after };
}
