// /etc/subuid and /etc/subgid: the ranges of subordinate ids a user may map into a user namespace
// (shadow's subuid(5)): lines "name-or-uid:first:count".
import { promises as fs } from 'fs';

export interface IdRange { start: number; count: number }

/** The user's ranges, matched by name or numeric id, in file order. */
export function parseSubIds(text: string, user: string, id: number): IdRange[] {
  const out: IdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [who, first, count] = line.split(':');
    if (who !== user && who !== String(id)) continue;
    const start = Number(first);
    const n = Number(count);
    if (Number.isInteger(start) && Number.isInteger(n) && start >= 0 && n > 0) out.push({ start, count: n });
  }
  return out;
}

export async function readSubIds(file: string, user: string, id: number): Promise<IdRange[]> {
  const text = await fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return ''; throw err; });
  return parseSubIds(text, user, id);
}

/**
 * The arguments of newuidmap/newgidmap: the user itself as 0, then the subordinate ranges from 1 on (so that
 * ids 1…65535 of an image, e.g. www-data or nobody, map to ids the user owns on the host).
 */
export function mapArgs(ownId: number, ranges: IdRange[]): string[] {
  const args = ['0', String(ownId), '1'];
  let next = 1;
  for (const r of ranges) {
    args.push(String(next), String(r.start), String(r.count));
    next += r.count;
  }
  return args;
}

/** How many ids the namespace maps (1 + the subordinate ones). */
export const mappedCount = (ranges: IdRange[]) => 1 + ranges.reduce((n, r) => n + r.count, 0);

/**
 * A free range of `count` ids at or above `min` that no line of either file uses, for `berth rootless setup`
 * (what useradd does with SUB_UID_MIN/SUB_UID_COUNT).
 */
export function freeRange(texts: string[], count = 65536, min = 100000): IdRange {
  const used: IdRange[] = [];
  for (const text of texts) {
    for (const raw of text.split('\n')) {
      const [, first, n] = raw.trim().split(':');
      const start = Number(first);
      const c = Number(n);
      if (Number.isInteger(start) && Number.isInteger(c) && c > 0) used.push({ start, count: c });
    }
  }
  used.sort((a, b) => a.start - b.start);
  let start = min;
  for (const u of used) {
    if (u.start + u.count <= start) continue;
    if (u.start >= start + count) break;
    start = u.start + u.count;
  }
  return { start, count };
}
