// Small file helpers for the network layer's runtime state.
import { writeFileSync, renameSync, rmSync } from 'fs';

let counter = 0;

/**
 * Replaces `file` whole (temp file + rename) without fsync: for state that is rebuilt after a reboot anyway
 * (addresses and endpoints of running containers). A daemon crash still leaves the old or the new content.
 * Synchronous: a small file copied into the page cache takes microseconds, where each asynchronous call cost a
 * thread-pool round trip (~0.15 ms) on every container start and exit.
 */
export async function replaceFile(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    writeFileSync(tmp, data, { mode });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
