// HostConfig.SecurityOpt as dockerd reads it (moby daemon/daemon_unix.go parseSecurityOpt): checked at create,
// applied at start and to every exec. berth has no AppArmor or SELinux: their options are accepted and have no
// effect, as on a dockerd host without them.
import { invalidParameter } from '../../common/errors';

export interface SecurityOptions {
  /** 'default' (Docker's profile), 'unconfined' (none), or a profile's JSON (what `docker run` sends for a file) */
  seccomp: string;
  noNewPrivileges: boolean;
}

const parseBool = (v: string): boolean | undefined =>
  ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v) ? true : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v) ? false : undefined;

/** The options, or a 400 with dockerd's text for one it does not know. */
export function parseSecurityOpt(opts: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { seccomp: 'default', noNewPrivileges: false };
  for (const opt of opts ?? []) {
    if (opt === 'no-new-privileges') { out.noNewPrivileges = true; continue; }
    if (opt === 'writable-cgroups' || opt === 'disable') continue;
    // "=" separates; ":" is the old separator dockerd still takes
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : undefined;
    if (!sep) throw invalidParameter(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const k = opt.slice(0, opt.indexOf(sep));
    const v = opt.slice(opt.indexOf(sep) + 1);
    if (k === 'label' || k === 'apparmor') continue;
    if (k === 'seccomp') { out.seccomp = v === 'builtin' || v === '' ? 'default' : v; continue; }
    if (k === 'no-new-privileges' || k === 'writable-cgroups') {
      const b = parseBool(v);
      if (b === undefined) throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
      if (k === 'no-new-privileges') out.noNewPrivileges = b;
      continue;
    }
    throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
  }
  return out;
}
