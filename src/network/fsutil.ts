// Small file helpers for the network layer's runtime state.
import { promises as fs } from 'fs';

let counter = 0;

/**
 * Replaces `file` whole (temp file + rename) without fsync: for state that is rebuilt after a reboot anyway
 * (addresses and endpoints of running containers). A daemon crash still leaves the old or the new content.
 */
export async function replaceFile(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    await fs.writeFile(tmp, data, { mode });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
