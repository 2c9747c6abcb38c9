// What a container changed in its root filesystem (GET /containers/{id}/changes, `docker diff`), read from its
// overlay upper dir against the image's layers — no mount needed, so it works the same for running and stopped
// containers. Only the upper dir is walked; the layers below are consulted per path (a few lstats each).
//
// The answer is what comparing the image's tree with the container's tree would give, which is what docker reports:
//   - an entry only in the upper dir is Added; one that also exists below is Modified when its type, mode, owner,
//     device number or (not for directories) size or mtime differ, or a file's capability xattr does — a file
//     copied up but left as it was (chown to the same owner, opened for writing and not written) is no change;
//   - a whiteout (0:0 character device) is a Deleted entry, when the layers below do have it;
//   - an opaque directory (trusted.overlay.opaque=y) hides everything the layers below have in it: those entries
//     are Deleted unless the upper dir has them again, in which case they are compared as usual;
//   - a directory with any change inside is Modified too (docker lists the parents, so a client can restore their
//     attributes), unless it is Added itself.
// Docker's own order is that of a Go map walk, i.e. random; here it is depth first in byte order, parents first.
import { overlayOpaqueXattr } from '../common/userns';
import { promises as fs, BigIntStats } from 'fs';
import * as path from 'path';
import { lgetxattrSync } from './special-files';

export const CHANGE_MODIFIED = 0;
export const CHANGE_ADDED = 1;
export const CHANGE_DELETED = 2;
export type ChangeKind = typeof CHANGE_MODIFIED | typeof CHANGE_ADDED | typeof CHANGE_DELETED;

/** One entry of GET /containers/{id}/changes. */
export interface Change { Path: string; Kind: ChangeKind }

// rootless: user.overlay.opaque (see common/userns.ts)
const OPAQUE_XATTR = overlayOpaqueXattr();
const CAPABILITY_XATTR = 'security.capability';

export interface OverlayChangesOptions {
  /** Paths (relative, no leading slash) left out with everything below them: see runtimeCreatedTargets(). */
  hidden?: ReadonlySet<string>;
}

/**
 * The changes in `upper` over `lowers` (the image's layer dirs, top-most first). An upper dir that does not exist
 * (a container never started) has no changes.
 */
export async function overlayChanges(upper: string, lowers: readonly string[], opts: OverlayChangesOptions = {}): Promise<Change[]> {
  if (!(await lstatOrUndefined(upper))?.isDirectory()) return [];
  const walker = new Walker(upper, new LowerView(lowers), opts.hidden ?? new Set());
  return walker.dir('', false, true);
}

/**
 * Which of `candidates` the upper dir has only because the runtime made them as mount targets: absent from the
 * image, and an empty file or a directory that holds nothing but other such targets. Docker keeps these in a
 * separate "init" layer, so neither diff nor commit shows them; berth leaves them out instead.
 */
export async function runtimeCreatedTargets(upper: string, lowers: readonly string[], candidates: readonly string[]): Promise<Set<string>> {
  const view = new LowerView(lowers);
  const hidden = new Set<string>();
  // deepest first, so a directory's verdict can count on its children's
  const ordered = [...candidates].sort((a, b) => b.split('/').length - a.split('/').length);
  for (const rel of ordered) {
    const st = await lstatOrUndefined(path.join(upper, rel));
    if (!st || (await view.lookup(rel))) continue;
    if (st.isFile() && st.size === 0n) hidden.add(rel);
    else if (st.isDirectory()) {
      const names = await fs.readdir(path.join(upper, rel));
      if (names.every((n) => hidden.has(`${rel}/${n}`))) hidden.add(rel);
    }
  }
  return hidden;
}

class Walker {
  constructor(private readonly upper: string, private readonly view: LowerView, private readonly hidden: ReadonlySet<string>) {}

  /**
   * The changes below `rel` (a directory of the upper dir), in order. `opaque`: this directory hides what the
   * layers below have in it (it or a parent is opaque); `lowerDir`: the layers below have it as a directory.
   */
  async dir(rel: string, opaque: boolean, lowerDir: boolean): Promise<Change[]> {
    const names = (await fs.readdir(path.join(this.upper, rel))).sort(byteOrder);
    const items: Array<{ name: string; changes: Change[] }> = [];
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (this.hidden.has(child)) continue;
      const changes = await this.entry(child, opaque, lowerDir);
      if (changes.length) items.push({ name, changes });
    }
    if (opaque && lowerDir) {
      // what the image had here and the upper dir does not have again is gone
      const present = new Set(names);
      for (const name of await this.view.children(rel)) {
        if (!present.has(name)) items.push({ name, changes: [change(rel === '' ? name : `${rel}/${name}`, CHANGE_DELETED)] });
      }
      items.sort((a, b) => byteOrder(a.name, b.name));
    }
    return items.flatMap((i) => i.changes);
  }

  private async entry(rel: string, opaque: boolean, lowerDir: boolean): Promise<Change[]> {
    const file = path.join(this.upper, rel);
    const st = await fs.lstat(file, { bigint: true });
    const low = lowerDir ? await this.view.lookup(rel) : undefined;
    if (isWhiteout(st)) return low ? [change(rel, CHANGE_DELETED)] : [];
    const out: Change[] = [];
    if (!low) out.push(change(rel, CHANGE_ADDED));
    else if (statDiffers(st, low.st) || (st.isFile() && !sameXattr(file, low.file, CAPABILITY_XATTR))) out.push(change(rel, CHANGE_MODIFIED));
    if (st.isDirectory()) {
      const inner = await this.dir(rel, opaque || isOpaque(file), !!low && low.st.isDirectory());
      if (out.length === 0 && inner.length > 0) out.push(change(rel, CHANGE_MODIFIED));
      out.push(...inner);
    }
    return out;
  }
}

/** docker's rule: type, mode, owner and device always count; size and mtime only for non-directories (a
 * directory's mtime changes with every entry made and removed in it, which says nothing about the directory). */
function statDiffers(a: BigIntStats, b: BigIntStats): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return true;
  if (a.isDirectory()) return false;
  return a.size !== b.size || a.mtimeNs !== b.mtimeNs;
}

function sameXattr(a: string, b: string, name: string): boolean {
  const x = lgetxattrSync(a, name);
  const y = lgetxattrSync(b, name);
  return x === undefined ? y === undefined : y !== undefined && x.equals(y);
}

const change = (rel: string, Kind: ChangeKind): Change => ({ Path: `/${rel}`, Kind });

type DirState = 'absent' | 'dir' | 'opaque' | 'blocked';

/**
 * The image's tree as overlayfs shows it, from its layer dirs (top-most first), looked up path by path. Per
 * directory and layer it remembers whether the layer has the directory ('dir'; 'opaque' when it also hides the
 * layers below), lacks it ('absent': look further down) or hides it from the layers below ('blocked': a whiteout,
 * a non-directory, or a missing entry in an opaque parent).
 */
export class LowerView {
  private readonly states = new Map<string, Promise<DirState[]>>();

  constructor(private readonly layers: readonly string[]) {}

  /** The entry the image has at `rel` (and the file it comes from), or undefined. */
  async lookup(rel: string): Promise<{ st: BigIntStats; file: string } | undefined> {
    const parent = await this.dirStates(parentOf(rel));
    for (let i = 0; i < this.layers.length; i++) {
      const state = parent[i];
      if (state === 'blocked') return undefined;
      if (state === 'absent') continue;
      const file = path.join(this.layers[i], rel);
      const st = await lstatOrUndefined(file);
      if (st) return isWhiteout(st) ? undefined : { st, file };
      if (state === 'opaque') return undefined;
    }
    return undefined;
  }

  /** Names in the image's directory `rel`. */
  async children(rel: string): Promise<string[]> {
    const states = await this.dirStates(rel);
    const seen = new Map<string, boolean>();
    for (let i = 0; i < this.layers.length; i++) {
      const state = states[i];
      if (state === 'blocked') break;
      if (state === 'absent') continue;
      const dir = path.join(this.layers[i], rel);
      for (const name of await fs.readdir(dir)) {
        if (seen.has(name)) continue;
        const st = await lstatOrUndefined(path.join(dir, name));
        seen.set(name, !!st && !isWhiteout(st));
      }
      if (state === 'opaque') break;
    }
    return [...seen].filter(([, exists]) => exists).map(([name]) => name);
  }

  private dirStates(rel: string): Promise<DirState[]> {
    let p = this.states.get(rel);
    if (!p) {
      p = this.computeStates(rel);
      this.states.set(rel, p);
    }
    return p;
  }

  private async computeStates(rel: string): Promise<DirState[]> {
    if (rel === '') return this.layers.map(() => 'dir');
    const parent = await this.dirStates(parentOf(rel));
    return Promise.all(this.layers.map(async (layer, i): Promise<DirState> => {
      const p = parent[i];
      if (p === 'absent' || p === 'blocked') return p;
      const dir = path.join(layer, rel);
      const st = await lstatOrUndefined(dir);
      if (!st) return p === 'opaque' ? 'blocked' : 'absent';
      if (!st.isDirectory()) return 'blocked';
      return isOpaque(dir) ? 'opaque' : 'dir';
    }));
  }
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}

const isWhiteout = (st: BigIntStats) => st.isCharacterDevice() && st.rdev === 0n;

const isOpaque = (dir: string) => lgetxattrSync(dir, OPAQUE_XATTR)?.toString() === 'y';

async function lstatOrUndefined(file: string): Promise<BigIntStats | undefined> {
  try {
    return await fs.lstat(file, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
