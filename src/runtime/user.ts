// Resolves docker's -u forms (name, uid, name:group, uid:gid) against the container's own
// /etc/passwd and /etc/group, like Docker does, including supplementary groups.
import { EngineError } from '../common/errors';
import { readSmallFileInRoot } from './open-in-root';
import type { ProcessUser } from './spec';

export interface ResolvedUser extends ProcessUser { home: string }

/** passwd and group files past this size are refused: real ones are a few KiB. */
const MAX_ACCOUNT_FILE = 8 << 20;
/** The largest uid/gid the kernel, runc and crun agree on (int32). CVE-2024-40635: containerd let 2147483648 wrap to
 * 0, i.e. root; we refuse every id past it instead of passing it on. */
export const MAX_ID = 2147483647;

/**
 * Reads an image's /etc/passwd or /etc/group, confined to the root file system (openat2 RESOLVE_IN_ROOT: a symlink
 * to a host file, or a running container swapping /etc, cannot make us read the host). A missing file reads as
 * empty; a file that is not a regular one (a FIFO would hang the daemon, /dev/zero fill its memory) reads as
 * `problem`, which fails only a lookup that needs the file.
 */
function readInRoot(root: string, file: string): { text: string; problem?: string } {
  try {
    return { text: readSmallFileInRoot(root, file, MAX_ACCOUNT_FILE) ?? '' };
  } catch (err) {
    return { text: '', problem: `/${file}: ${(err as Error).message.replace(/^\w+: open /, '')}` };
  }
}

const rows = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));

/** `groupAdd` (HostConfig.GroupAdd, --group-add): more groups by name or number, as docker adds them. */
export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd: string[] = []): Promise<ResolvedUser> {
  const [userPart, groupPart] = (spec || '0').split(':');
  const isNum = (s: string) => /^\d+$/.test(s);
  for (const part of [userPart, groupPart ?? '']) {
    if (isNum(part) && Number(part) > MAX_ID) throw new EngineError(400, `invalid user: id ${part} is out of range (0-${MAX_ID})`);
    if (/^-\d+$/.test(part)) throw new EngineError(400, `invalid user: negative id ${part}`);
  }
  const passwdFile = readInRoot(rootfs, 'etc/passwd');
  const groupFile = readInRoot(rootfs, 'etc/group');
  const passwd = rows(passwdFile.text);
  const groups = rows(groupFile.text);
  if (passwdFile.problem && !isNum(userPart)) throw new EngineError(500, `unable to find user ${userPart}: ${passwdFile.problem}`);
  if (groupFile.problem && groupPart && !isNum(groupPart)) throw new EngineError(500, `unable to find group ${groupPart}: ${groupFile.problem}`);

  let uid: number; let gid: number; let home = '/'; let name: string | undefined;
  const entry = passwd.find((p) => (isNum(userPart) ? p[2] === userPart : p[0] === userPart));
  if (entry) {
    uid = parseInt(entry[2], 10); gid = parseInt(entry[3], 10) || 0; home = entry[5] || '/'; name = entry[0];
  } else if (isNum(userPart)) {
    // A uid the image does not know runs with gid 0, as in Docker.
    uid = parseInt(userPart, 10); gid = 0;
  } else {
    throw new EngineError(500, `unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    const g = groups.find((r) => (isNum(groupPart) ? r[2] === groupPart : r[0] === groupPart));
    if (g) gid = parseInt(g[2], 10);
    else if (isNum(groupPart)) gid = parseInt(groupPart, 10);
    else throw new EngineError(500, `unable to find group ${groupPart}: no matching entries in group file`);
  }
  const additionalGids = name && groupPart === undefined
    ? groups.filter((g) => (g[3] || '').split(',').includes(name!)).map((g) => parseInt(g[2], 10)).filter((g) => g !== gid)
    : [];
  for (const g of groupAdd.map(String)) {
    const row = groups.find((r) => r[0] === g) ?? (isNum(g) ? [g, '', g] : undefined);
    if (!row) throw new EngineError(500, `Unable to find group ${g}: no matching entries in group file`);
    const id = parseInt(row[2], 10);
    if (!additionalGids.includes(id)) additionalGids.push(id);
  }
  // ids from the image's own files are held to the same range as ids given on the command line
  if (!(uid >= 0 && uid <= MAX_ID) || !(gid >= 0 && gid <= MAX_ID) || additionalGids.some((g) => !(g >= 0 && g <= MAX_ID))) {
    throw new EngineError(500, `unable to resolve user ${spec}: an id in the image's passwd or group file is out of range`);
  }
  if (uid === 0 && !entry) home = '/root';
  return { uid, gid, additionalGids, home };
}
