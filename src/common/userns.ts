// Whether this process runs in a user namespace other than the host's (rootless berth: the daemon, its
// workers and the runtime run as root of a namespace that maps the user's subordinate ids). A fact of the
// process, read once: storage and runtime use it where the kernel's rules differ inside such a namespace.
import { readFileSync } from 'fs';

let cached: boolean | undefined;

/** The host's namespace maps all 2^32 ids onto themselves ("0 0 4294967295"); any other map is a user namespace. */
export function parseInUserNamespace(uidMap: string): boolean {
  const lines = uidMap.trim().split('\n').map((l) => l.trim().split(/\s+/));
  return !(lines.length === 1 && lines[0][0] === '0' && lines[0][1] === '0' && lines[0][2] === '4294967295');
}

export function inUserNamespace(): boolean {
  if (cached === undefined) {
    try {
      cached = parseInUserNamespace(readFileSync('/proc/self/uid_map', 'utf8'));
    } catch {
      cached = false; // no /proc: assume the host's
    }
  }
  return cached;
}

/**
 * The xattr overlayfs reads for an opaque directory. In a user namespace the kernel cannot use trusted.*
 * (it needs CAP_SYS_ADMIN on the host), so there overlays are mounted with `userxattr` and read user.overlay.*.
 */
export function overlayXattrPrefix(): string {
  return inUserNamespace() ? 'user.overlay.' : 'trusted.overlay.';
}
export function overlayOpaqueXattr(): string {
  return `${overlayXattrPrefix()}opaque`;
}
