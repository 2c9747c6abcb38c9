// The exec root (/run/berth) holds runtime state that does not outlive the machine: shim state dirs and sockets,
// bundles, the runtime's state, exec files, network namespace files. It is written and removed at every container
// start, exec and exit, and the code assumes tmpfs, as /run is almost everywhere. Where it is not (this machine's
// /run is ext4), each of those small creates and unlinks goes through the journal: 0.16 ms per unlink on the main
// thread during an `rm -f` of 50 (perf trace), and an `rm -f` of 50 took 215-219 ms there against 156-181 ms on
// tmpfs. So a root daemon whose exec root is on another file system mounts a tmpfs of its own there, when nothing
// lives in it yet.
import { promises as fs } from 'fs';
import { run } from '../runtime/exec';
import { mountSyscall } from '../runtime/syscalls';
import { mountsUnder, shimProcesses } from '../runtime/leftovers';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';

const TMPFS_MAGIC = 0x01021994;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;

/**
 * Mounts a tmpfs (root:root 0710, nosuid, nodev) on `execRoot` unless it is on tmpfs already. Not over state that
 * lives there: a running shim's or a namespace file's (an older daemon's containers, which it must find again);
 * what else is there (files of a daemon that has gone) stays on the disk under the mount. Failing is not fatal:
 * the daemon then works on the file system as it is.
 */
export async function execRootOnTmpfs(execRoot: string): Promise<'tmpfs' | 'mounted' | 'in use' | 'failed'> {
  if ((await fs.statfs(execRoot)).type === TMPFS_MAGIC) return 'tmpfs';
  if ((await mountsUnder(execRoot)).length > 0 || (await shimProcesses(`${execRoot}/shim`)).length > 0) {
    log.info('the exec root is not on tmpfs and holds live state: left as it is', { execRoot });
    return 'in use';
  }
  const options = 'mode=0710,uid=0,gid=0';
  try {
    if (!mountSyscall('tmpfs', execRoot, 'tmpfs', MS_NOSUID | MS_NODEV, options)) {
      await run('mount', ['-t', 'tmpfs', '-o', `nosuid,nodev,${options}`, 'tmpfs', execRoot]);
    }
    return 'mounted';
  } catch (err) {
    log.warn('cannot mount a tmpfs on the exec root: using it as it is', { execRoot, error: errorMessage(err) });
    return 'failed';
  }
}
