// Tags and digest references → image ids (docker's repositories.json). Kept in memory with a reverse index so
// `images` and `inspect` never search; every change rewrites the (small) file atomically.
import { readJson, writeJsonAtomic } from '../common/atomic';
import { familiarName, parseReference, Reference, referenceString, repositoryName } from './reference';

interface RefsFile { refs: Record<string, string> }

/** The key a reference is stored under: name:tag, or name@digest (a digest pins the image; a tag beside it is
 * ignored, as docker does). */
export function refKey(r: Reference): string {
  return r.digest !== undefined ? `${repositoryName(r)}@${r.digest}` : referenceString({ ...r, tag: r.tag ?? 'latest' });
}

export class ReferenceStore {
  private readonly byRef = new Map<string, string>();
  private readonly byImage = new Map<string, Set<string>>();

  constructor(private readonly file: string) {}

  async load(keep: (imageId: string) => boolean): Promise<void> {
    const data = await readJson<RefsFile>(this.file);
    for (const [ref, id] of Object.entries(data?.refs ?? {})) if (keep(id)) this.index(ref, id);
  }

  get(ref: Reference): string | undefined {
    return this.byRef.get(refKey(ref));
  }

  /** All references to the image, parsed, sorted by their familiar form (docker's order for RepoTags). */
  refsOf(imageId: string): Reference[] {
    const keys = [...(this.byImage.get(imageId) ?? [])];
    return keys.map((k) => parseReference(k)).sort((a, b) => cmp(familiarName(a), familiarName(b)));
  }

  /** Every reference in one repository ('docker.io/library/busybox'), with the image each names. */
  inRepository(repository: string): Array<{ ref: Reference; id: string }> {
    const out: Array<{ ref: Reference; id: string }> = [];
    for (const [key, id] of this.byRef) {
      const ref = parseReference(key);
      if (repositoryName(ref) === repository) out.push({ ref, id });
    }
    return out.sort((a, b) => cmp(familiarName(a.ref), familiarName(b.ref)));
  }

  hasRefs(imageId: string): boolean {
    return (this.byImage.get(imageId)?.size ?? 0) > 0;
  }

  /** Points `ref` at `imageId`; returns the image it pointed to before, if another. */
  async set(ref: Reference, imageId: string): Promise<string | undefined> {
    const key = refKey(ref);
    const previous = this.byRef.get(key);
    if (previous === imageId) return undefined;
    if (previous !== undefined) this.unindex(key, previous);
    this.index(key, imageId);
    try {
      await this.save();
    } catch (err) {
      this.unindex(key, imageId); // memory must not claim what the disk does not hold
      if (previous !== undefined) this.index(key, previous);
      throw err;
    }
    return previous;
  }

  async delete(refs: Reference[]): Promise<void> {
    const removed: Array<[string, string]> = [];
    for (const ref of refs) {
      const key = refKey(ref);
      const id = this.byRef.get(key);
      if (id === undefined) continue;
      this.unindex(key, id);
      removed.push([key, id]);
    }
    if (removed.length === 0) return;
    try {
      await this.save();
    } catch (err) {
      for (const [key, id] of removed) this.index(key, id);
      throw err;
    }
  }

  private index(key: string, id: string): void {
    this.byRef.set(key, id);
    let set = this.byImage.get(id);
    if (!set) this.byImage.set(id, (set = new Set()));
    set.add(key);
  }

  private unindex(key: string, id: string): void {
    this.byRef.delete(key);
    const set = this.byImage.get(id);
    set?.delete(key);
    if (set?.size === 0) this.byImage.delete(id);
  }

  private async save(): Promise<void> {
    const refs: Record<string, string> = {};
    for (const key of [...this.byRef.keys()].sort()) refs[key] = this.byRef.get(key)!;
    await writeJsonAtomic(this.file, { refs } satisfies RefsFile);
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
