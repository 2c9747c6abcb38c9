// libc through koffi FFI, shared by the modules that call into it (common/syscalls.ts: mount, namespaces,
// memory; storage/special-files.ts: mknod, xattrs, times). Each passes its own table of C prototypes and gets
// the bound functions plus errno(); koffi and libc.so.6 are loaded once per process (koffi's load costs ~20 ms).
// Where koffi cannot load, callers get the error and fall back to commands.

/** The bound functions, one per prototype, and the calling thread's errno after a failed call. */
export type Bound<T> = T & { errno(): number };

interface Koffi { load(lib: string): { func(proto: string): unknown }; errno(): number }

let lib: { koffi: Koffi; libc: { func(proto: string): unknown } } | undefined;

/**
 * Binds `defs` (name → C prototype, e.g. `{ umount2: 'int umount2(const char *target, int flags)' }`) in libc.
 * Throws koffi's error when koffi or libc cannot be loaded; the caller decides its fallback.
 */
export function loadLibc<T extends object>(defs: { [K in keyof T]: string }): Bound<T> {
  if (!lib) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const koffi = require('koffi') as Koffi;
    lib = { koffi, libc: koffi.load('libc.so.6') };
  }
  const { koffi, libc } = lib;
  const out: Record<string, unknown> = { errno: () => koffi.errno() };
  for (const [name, proto] of Object.entries(defs) as Array<[string, string]>) out[name] = libc.func(proto);
  return out as Bound<T>;
}
