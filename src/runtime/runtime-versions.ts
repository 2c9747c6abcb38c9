// OCI runtime versions with known container escapes. berth runs containers as root through crun or runc; a runtime
// with a published escape hands every image that exploits it the host. Such a runtime is never picked nor used, and
// the error names the CVEs and the version needed (issue 16).
import { execFileSync } from 'child_process';

/** `backported`: a distribution build that carries the fix in an older version (its --version output matches). */
interface Fix { cve: string; what: string; fixedIn: string[]; backported?: RegExp }

/** Escapes per runtime and the first release of each maintained line that fixes them. */
const ESCAPES: Record<string, Fix[]> = {
  runc: [
    { cve: 'CVE-2019-5736', what: 'the container overwrites the runc binary through /proc/self/exe', fixedIn: ['1.0.0-rc7'] },
    { cve: 'CVE-2024-21626', what: 'leaked descriptors give the container the host file system', fixedIn: ['1.1.12'], backported: /\+deb12u[1-9]|\+deb1[3-9]u/ },
    { cve: 'CVE-2025-31133, CVE-2025-52565, CVE-2025-52881', what: 'masked paths and /dev/console races, procfs writes redirected to the host', fixedIn: ['1.2.8', '1.3.3', '1.4.0'] },
  ],
  crun: [
    { cve: 'CVE-2019-5736', what: 'the container overwrites the crun binary through /proc/self/exe', fixedIn: ['0.10'] },
    { cve: 'CVE-2022-27650', what: 'processes start with inheritable capabilities', fixedIn: ['1.4.4'] },
  ],
};

/** [major, minor, patch, pre] with pre = Infinity for a release (1.0.0 > 1.0.0-rc7). */
function parse(v: string): [number, number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:-rc\.?(\d+))?/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0), m[4] === undefined ? Infinity : Number(m[4])];
}

function less(a: [number, number, number, number], b: [number, number, number, number]): boolean {
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/** Is `v` fixed? `fixedIn` holds the first fixed release of each maintained line. A version on one of those lines
 * must be at or past its fix; a version on a newer line than all of them is fixed; any other line is not (a line
 * between two fixed ones got no fix, so it is taken as open). */
function fixed(v: [number, number, number, number], fixedIn: string[]): boolean {
  const fixes = fixedIn.map((f) => parse(f)!);
  const sameLine = fixes.find((f) => f[0] === v[0] && f[1] === v[1]);
  if (sameLine) return !less(v, sameLine);
  return fixes.every((f) => v[0] > f[0] || (v[0] === f[0] && v[1] > f[1]));
}

/** The version a runtime's `--version` output names ("runc version 1.1.5+ds1", "crun version 1.8.1"). */
export function versionOf(output: string): string | undefined {
  return /version\s+v?(\d+\.\d+(?:\.\d+)?(?:-rc\.?\d+)?)/.exec(output)?.[1];
}

/**
 * Why `name` at the version printed by its `--version` must not be used, or undefined when it may be. Unknown
 * runtimes and unparsable versions are not judged here.
 */
export function runtimeEscapes(name: string, versionOutput: string): string | undefined {
  const fixes = ESCAPES[name];
  const version = versionOf(versionOutput);
  if (!fixes || !version) return undefined;
  const v = parse(version)!;
  const open = fixes.filter((f) => !fixed(v, f.fixedIn) && !f.backported?.test(versionOutput));
  if (!open.length) return undefined;
  const last = fixes[fixes.length - 1].fixedIn;
  const needed = last.length === 1 ? `${last[0]} or newer`
    : `${last.slice(0, -1).map((x) => `${x} or newer on the ${x.split('.').slice(0, 2).join('.')} line`).join(', ')}, or ${last[last.length - 1]} or newer`;
  return `${name} ${version} has known container escapes (${open.map((f) => `${f.cve}: ${f.what}`).join('; ')}): berth needs ${name} ${needed}`;
}

const checked = new Map<string, string | undefined>();

/** runtimeEscapes for the binary at `path` (its `--version` runs once per path and daemon). */
export function runtimeProblem(name: string, path: string): string | undefined {
  if (!checked.has(path)) {
    let out = '';
    try { out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }); } catch { /* judged unknown */ }
    checked.set(path, runtimeEscapes(name, out));
  }
  return checked.get(path);
}
