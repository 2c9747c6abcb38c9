// Copies an unpacked layer dir with everything overlayfs cares about (owners, modes, times, device nodes,
// xattrs such as trusted.overlay.opaque, hard links). GNU cp does all of that in one process; it is only
// needed on the rare path where one image holds the same layer twice.
import { execFile } from 'child_process';

export function copyTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('cp', ['-a', '--no-target-directory', from, to], (err, _out, stderr) => {
      if (err) reject(new Error(`copying layer ${from}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}
