// The few filesystem calls Node lacks: mknod (device nodes, fifos, overlay whiteouts) and setxattr (overlay
// opaque dirs, file capabilities). They are rare per layer (a handful of whiteouts, /dev nodes), so we run
// Debian's commands (coreutils' mknod, attr's setfattr) rather than carry a native addon; measured ~2 ms
// each. Callers pass paths they have already confined; every command is told not to follow a final symlink.
import { execFile } from 'child_process';
import { EngineError } from '../common/errors';

function run(cmd: string, args: string[], pkg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new EngineError(500, `${cmd} not found: install the Debian package ${pkg}`));
      }
      reject(new EngineError(500, `${cmd} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}

export type NodeKind = 'c' | 'b' | 'p';

/** Creates a device node or fifo at `path` (which must not exist; mknod never follows it). */
export function mknod(path: string, kind: NodeKind, major = 0, minor = 0): Promise<void> {
  const args = kind === 'p' ? [path, 'p'] : [path, kind, String(major), String(minor)];
  return run('mknod', ['-m', '0600', ...args], 'coreutils');
}

/** Sets an extended attribute on `path` itself (-h: a symlink's own attributes, never its target's). */
export function lsetxattr(path: string, name: string, value: Uint8Array): Promise<void> {
  return run('setfattr', ['-h', '-n', name, '-v', `0x${Buffer.from(value).toString('hex')}`, '--', path], 'attr');
}
