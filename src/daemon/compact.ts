// Gives an idle daemon's memory back to the system (run by idle.ts once the API has been quiet a few seconds).
// Measured on a daemon after use (see bench/memory.ts): of ~80 MiB RSS, ~40 MiB are pages of the node binary
// itself (text and read-only data it touched once), ~12-20 MiB the V8 heap, ~9 MiB glibc's main heap and the
// rest thread arenas and stacks. Two steps, each cheap next to a request (a few ms, once per quiet period):
//  1. a full V8 GC, which also starts V8's memory reducer (it shrinks the young generation a few seconds later);
//  2. glibc malloc_trim(0): the free pages of every arena back to the kernel (~4-6 MiB after use).
// The binary's clean pages are deliberately left mapped: unmapping them (MADV_DONTNEED) lowers the RSS figure by
// ~20 MiB but frees nothing, since they stay in the page cache (and in the cgroup's charge), so it would only move
// the number, not the memory.
import * as v8 from 'v8';
import * as vm from 'vm';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import { mallocTrimSyscall } from '../common/syscalls';

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

/** The two steps above; each one that fails is logged and skipped. Returns the RSS before and after (MiB). */
export function compactMemory(): { before: number; after: number } {
  const before = rssMiB();
  const t0 = performance.now();
  try { fullGc(); } catch (err) { log.debug('idle GC failed', { error: errorMessage(err) }); }
  try {
    mallocTrimSyscall();
  } catch (err) {
    log.debug('returning memory failed', { error: errorMessage(err) });
  }
  const after = rssMiB();
  log.debug('idle: memory compacted', { rssMiB: before, afterMiB: after, ms: Math.round(performance.now() - t0) });
  return { before, after };
}
