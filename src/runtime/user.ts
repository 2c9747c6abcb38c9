// Resolves docker's -u forms (name, uid, name:group, uid:gid) against the container's own
// /etc/passwd and /etc/group, like Docker does, including supplementary groups.
import { promises as fs } from 'fs';
import * as path from 'path';
import { EngineError } from '../common/errors';
import type { ProcessUser } from './spec';

export interface ResolvedUser extends ProcessUser { home: string }

async function readInRoot(root: string, file: string): Promise<string> {
  try {
    const real = await fs.realpath(path.join(root, file));
    // An image's /etc/passwd that is a symlink pointing out of the rootfs is not read.
    if (!real.startsWith(root.endsWith('/') ? root : root + '/')) return '';
    return await fs.readFile(real, 'utf8');
  } catch {
    return '';
  }
}

const rows = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));

/** `groupAdd` (HostConfig.GroupAdd, --group-add): more groups by name or number, as docker adds them. */
export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd: string[] = []): Promise<ResolvedUser> {
  const [userPart, groupPart] = (spec || '0').split(':');
  const passwd = rows(await readInRoot(rootfs, 'etc/passwd'));
  const groups = rows(await readInRoot(rootfs, 'etc/group'));
  const isNum = (s: string) => /^\d+$/.test(s);

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
  if (uid === 0 && !entry) home = '/root';
  return { uid, gid, additionalGids, home };
}
