// Path resolution confined to a layer root, as if the root were "/" of a chroot. Docker gets this confinement
// by unpacking inside a chroot; we get it by walking every parent component with lstat and resolving symlinks
// ourselves, inside the root. Nothing here ever asks the kernel to follow a symlink, so an archive that plants
// `lib -> /usr/lib` (legitimate: lands in <root>/usr/lib) or `evil -> /etc` (hostile: also lands in <root>/etc)
// can never make us touch anything outside the root. Synchronous: it runs in the unpack worker, where a syscall
// costs microseconds and nothing else waits on the thread.
import { lstatSync, mkdirSync, readlinkSync } from 'fs';
import * as path from 'path';
import { EngineError } from '../common/errors';

/** Symlink hops allowed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

export const badEntry = (name: string, why: string) => new EngineError(400, `invalid tar entry ${JSON.stringify(name)}: ${why}`);

/**
 * Splits a tar entry name into clean components. Absolute names are taken relative to the root (like docker's
 * filepath.Join(dest, name)); names whose `..` climb above the root are refused, like docker's breakout check.
 * Returns [] for the root itself ('.', './', '/').
 */
export function entryParts(name: string): string[] {
  if (name.includes('\0')) throw badEntry(name, 'NUL in name');
  const clean = path.posix.normalize(name.replace(/^\/+/, '') || '.');
  if (clean === '..' || clean.startsWith('../')) throw badEntry(name, 'path escapes the layer root');
  return clean.split('/').filter((c) => c !== '' && c !== '.');
}

export class ConfinedTree {
  /** Relative paths ('' = root) known to be real directories: most entries share parents, so most walks cost no
   * syscall. Cleared whenever we remove anything, since a removal may turn a known directory into something else. */
  private readonly knownDirs = new Set<string>(['']);

  constructor(readonly root: string) {}

  /** `rel` is a clean relative path (as resolveDir returns): plain concatenation is enough. */
  host(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  forget(): void {
    this.knownDirs.clear();
    this.knownDirs.add('');
  }

  noteDir(rel: string): void {
    this.knownDirs.add(rel);
  }

  /**
   * Resolves `parts` as a directory inside the root, following symlinks within the root and clamping `..` at
   * it. Missing components are created (0755, like docker's MkdirAll) when `create`, else the result is
   * undefined. Returns the resolved path relative to the root ('' for the root).
   */
  resolveDir(parts: readonly string[], create: boolean, entryName: string, onCreate?: (host: string) => void): string | undefined {
    // Fast path, most entries: every parent already known.
    let known = '';
    let i = 0;
    for (; i < parts.length; i++) {
      const c = parts[i];
      if (c === '..' || c === '.' || c === '') break;
      const next = known === '' ? c : `${known}/${c}`;
      if (!this.knownDirs.has(next)) break;
      known = next;
    }
    if (i === parts.length) return known;
    const stack: string[] = known === '' ? [] : known.split('/');
    const queue = parts.slice(i);
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') { stack.pop(); continue; }
      stack.push(c);
      const rel = stack.join('/');
      if (this.knownDirs.has(rel)) continue;
      const host = this.host(rel);
      let st;
      try {
        st = lstatSync(host);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (!create) return undefined;
        mkdirSync(host, { mode: 0o755 });
        onCreate?.(host);
        this.knownDirs.add(rel);
        continue;
      }
      if (st.isDirectory()) {
        this.knownDirs.add(rel);
      } else if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw badEntry(entryName, 'too many levels of symbolic links');
        const target = readlinkSync(host);
        stack.pop();
        if (target.startsWith('/')) stack.length = 0; // absolute targets mean the layer's own root
        queue.unshift(...target.split('/'));
      } else {
        throw badEntry(entryName, `/${rel} is not a directory`);
      }
    }
    return stack.join('/');
  }

  /** True when every component of `rel` is a real directory (no symlinks): used to re-check paths that were
   * resolved earlier, in case later entries replaced one of their parents. */
  isPlainDir(rel: string): boolean {
    if (rel === '') return true;
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.knownDirs.has(prefix)) continue;
      const st = lstatSync(this.host(prefix), { throwIfNoEntry: false });
      if (!st?.isDirectory()) return false;
      this.knownDirs.add(prefix);
    }
    return true;
  }
}
