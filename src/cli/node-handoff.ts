// Commands that must run on Node when the CLI runs as the Bun-built executable: the daemon and the other
// long-running servers (`registry serve`). The executable replaces itself (execve) with Node running the Node
// launcher bin/berth-node on the same arguments, so the caller keeps one process: the same pid (a SIGKILL or a
// SIGTERM reaches the server itself), the same stdio and terminal, and the server's own exit status.
import { StatusError } from './command';

/** True inside the Bun-built executable (or any Bun), false on Node. */
export const onBun = (): boolean => !!process.versions.bun;

/** The Node binary: BERTH_NODE, else `node` (or Debian's `nodejs`) on PATH. */
export function findNode(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fs: typeof import('fs') = require('fs');
  const candidates = env.BERTH_NODE ? [env.BERTH_NODE] : [];
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (dir) candidates.push(`${dir}/node`, `${dir}/nodejs`);
  }
  return candidates.find((f) => { try { fs.accessSync(f, fs.constants.X_OK); return fs.statSync(f).isFile(); } catch { return false; } });
}

/** bin/berth-node of the checkout the executable was built in (the executable is its dist/berth). */
export function nodeLauncher(): string {
  const path: typeof import('path') = require('path');
  return path.join(path.dirname(path.dirname(process.execPath)), 'bin', 'berth-node');
}

// The part of bun:ffi used here (Bun's module; there are no Node typings for it).
interface BunFfi {
  dlopen(lib: string, symbols: Record<string, { args: number[]; returns: number }>): { symbols: Record<string, (...a: unknown[]) => number> };
  FFIType: Record<'ptr' | 'i32', number>;
  ptr(v: ArrayBufferView): number;
}

const SIG_DFL = 0;
// Bun ignores these; an ignored disposition survives execve, so give Node the defaults a shell would have.
const SIGPIPE = 13;
const SIGXFSZ = 25;

/** Replaces this process with `node bin/berth-node ...argv`; returns only by throwing. */
export function handOffToNode(argv: string[]): never {
  const node = findNode();
  if (!node) throw new StatusError(1, `${argv[0] === 'daemon' ? 'berth daemon' : 'this command'} runs on Node.js, which was not found on PATH (set BERTH_NODE to its path)`);
  const ffi = require('bun:ffi') as BunFfi;
  const { FFIType: T } = ffi;
  const libc = ffi.dlopen('libc.so.6', {
    execve: { args: [T.ptr, T.ptr, T.ptr], returns: T.i32 },
    signal: { args: [T.i32, T.ptr], returns: T.ptr },
  }).symbols;
  const cstr = (s: string) => Buffer.from(s + '\0');
  // NULL-terminated arrays of pointers; the buffers they point to stay referenced until execve
  const ptrArray = (bufs: Buffer[]) => {
    const arr = new BigUint64Array(bufs.length + 1);
    bufs.forEach((b, i) => { arr[i] = BigInt(ffi.ptr(b)); });
    return arr;
  };
  const args = [node, nodeLauncher(), ...argv].map(cstr);
  const envs = Object.entries(process.env).filter(([, v]) => v !== undefined).map(([k, v]) => cstr(`${k}=${v}`));
  const file = cstr(node);
  const argvArr = ptrArray(args);
  const envArr = ptrArray(envs);
  libc.signal(SIGPIPE, SIG_DFL);
  libc.signal(SIGXFSZ, SIG_DFL);
  libc.execve(ffi.ptr(file), ffi.ptr(argvArr), ffi.ptr(envArr));
  throw new StatusError(1, `cannot start ${node}: execve failed`);
}
