// Where rootless berth keeps its state, as rootless Docker does: data under the user's home
// ($XDG_DATA_HOME/berth, by default ~/.local/share/berth), runtime files and the socket under
// $XDG_RUNTIME_DIR/berth. The CLI finds the socket the same way (src/client resolves the default host).
import { statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface RootlessPaths { dataRoot: string; execRoot: string; host: string; runtimeDir: string }

export class RootlessPathError extends Error {}

/**
 * $XDG_RUNTIME_DIR, or /run/user/<uid> when it exists and belongs to the user (a login session made it but the
 * environment lost the variable, e.g. under `su`). It must be the user's own, private directory: the socket
 * lives there.
 */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  const candidates = env.XDG_RUNTIME_DIR ? [env.XDG_RUNTIME_DIR] : [`/run/user/${uid}`];
  for (const dir of candidates) {
    const st = statSync(dir, { throwIfNoEntry: false });
    if (!st) continue;
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
      throw new RootlessPathError(`rootless berth needs XDG_RUNTIME_DIR (${dir}) to be a directory owned by uid ${uid} with mode 0700`);
    }
    return dir;
  }
  throw new RootlessPathError(env.XDG_RUNTIME_DIR
    ? `XDG_RUNTIME_DIR (${env.XDG_RUNTIME_DIR}) does not exist`
    : `XDG_RUNTIME_DIR is not set and /run/user/${uid} does not exist: log in through a session that makes it (systemd-logind), or create a private directory and export XDG_RUNTIME_DIR=<dir>`);
}

export function dataHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return env.XDG_DATA_HOME;
  const home = env.HOME || os.userInfo().homedir;
  return path.join(home, '.local', 'share');
}

export function rootlessPaths(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): RootlessPaths {
  const run = runtimeDir(env, uid);
  const execRoot = path.join(run, 'berth');
  return { dataRoot: path.join(dataHome(env), 'berth'), execRoot, host: `unix://${execRoot}/berth.sock`, runtimeDir: run };
}
