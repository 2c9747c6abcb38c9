// `docker rmi` semantics, ported from moby's daemon/images/image_delete.go (classic store): which references a
// name or id removes, when an image must be forced or cannot be, and the exact 409 texts.
import { conflict, EngineError } from '../common/errors';
import { shortId } from '../common/ids';
import { familiarName, parseReference, Reference, repositoryName } from './reference';

export interface DeleteItem { Untagged?: string; Deleted?: string }

/** Who uses an image. Return a running container if any uses it, else a stopped one, else undefined. */
export type ContainerUsing = (imageId: string) => { id: string; running: boolean } | undefined;

export interface DeleteOptions {
  force?: boolean;
  /** Keep untagged parents (docker's noprune). */
  noPrune?: boolean;
  containerUsing: ContainerUsing;
}

/** What the algorithm needs from the store. */
export interface DeleteContext {
  refsOf(imageId: string): Reference[];
  parentOf(imageId: string): string | undefined;
  hasChildren(imageId: string): boolean;
  removeRefs(imageId: string, refs: Reference[]): Promise<void>;
  /** Deletes the image; returns the chain ids of the layers that went with it, top first. */
  deleteImage(imageId: string, keepLayers: boolean): Promise<string[]>;
}

const DEPENDENT_CHILD = 1;
const RUNNING_CONTAINER = 2;
const ACTIVE_REFERENCE = 4;
const STOPPED_CONTAINER = 8;
const HARD = DEPENDENT_CHILD | RUNNING_CONTAINER;
const SOFT = ACTIVE_REFERENCE | STOPPED_CONTAINER;

class DeleteConflict extends EngineError {
  constructor(imageId: string, readonly hard: boolean, readonly used: boolean, detail: string) {
    super(409, `conflict: unable to delete ${shortId(imageId)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${detail}`);
  }
}

const isCanonical = (r: Reference) => r.digest !== undefined;

/** docker's isImageIDPrefix: was the image named by (a prefix of) its id? */
function isIdPrefix(imageId: string, ref: string): boolean {
  return imageId.startsWith(ref) || imageId.slice(imageId.indexOf(':') + 1).startsWith(ref);
}

/** True when the references amount to one tag (plus, at most, digest references of that same repository). */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: Reference | undefined;
  const canonicalRepos = new Set<string>();
  for (const r of refs) {
    if (isCanonical(r)) canonicalRepos.add(repositoryName(r));
    else if (single === undefined) single = r;
    else return false;
  }
  single ??= refs[0];
  return canonicalRepos.size === 1 && canonicalRepos.has(repositoryName(single));
}

export async function deleteImage(ctx: DeleteContext, ref: string, imageId: string, opts: DeleteOptions): Promise<DeleteItem[]> {
  const records: DeleteItem[] = [];
  const force = opts.force ?? false;
  let repoRefs = ctx.refsOf(imageId);
  let removedRepositoryRef = false;

  if (!isIdPrefix(imageId, ref)) {
    // A reference was given: remove it first. Leaving a container's image dangling needs -f.
    if (!force && isSingleReference(repoRefs)) {
      const user = opts.containerUsing(imageId);
      if (user) {
        throw conflict(`conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(user.id)} is using its referenced image ${shortId(imageId)}`);
      }
    }
    const parsed = parseReference(ref);
    const removed: Reference = parsed.digest !== undefined ? { domain: parsed.domain, path: parsed.path, digest: parsed.digest } : parsed;
    await ctx.removeRefs(imageId, [removed]);
    records.push({ Untagged: familiarName(removed) });
    repoRefs = ctx.refsOf(imageId);

    // The last tag of a repository takes that repository's digest references with it.
    if (!isCanonical(removed)) {
      const sameRepo = (r: Reference) => repositoryName(r) === repositoryName(removed);
      if (!repoRefs.some((r) => !isCanonical(r) && sameRepo(r))) {
        const digests = repoRefs.filter((r) => isCanonical(r) && sameRepo(r));
        if (digests.length > 0) {
          await ctx.removeRefs(imageId, digests);
          for (const d of digests) records.push({ Untagged: familiarName(d) });
          repoRefs = repoRefs.filter((r) => !digests.includes(r));
        }
      }
    }
    if (repoRefs.length > 0) return records;
    removedRepositoryRef = true;
  } else if (isSingleReference(repoRefs)) {
    // An id with one tag: untag and delete in one go, unless something stronger holds the image.
    const mask = HARD | (force ? 0 : SOFT & ~ACTIVE_REFERENCE);
    const found = checkConflict(ctx, imageId, mask, opts.containerUsing);
    if (found) throw found;
    await ctx.removeRefs(imageId, repoRefs);
    for (const r of repoRefs) records.push({ Untagged: familiarName(r) });
  }

  await deleteHelper(ctx, imageId, records, force, !(opts.noPrune ?? false), removedRepositoryRef, opts.containerUsing);
  return records;
}

function checkConflict(ctx: DeleteContext, imageId: string, mask: number, containerUsing: ContainerUsing): DeleteConflict | undefined {
  if (mask & DEPENDENT_CHILD && ctx.hasChildren(imageId)) {
    return new DeleteConflict(imageId, true, false, 'image has dependent child images');
  }
  const user = mask & (RUNNING_CONTAINER | STOPPED_CONTAINER) ? containerUsing(imageId) : undefined;
  if (mask & RUNNING_CONTAINER && user?.running) {
    return new DeleteConflict(imageId, true, true, `image is being used by running container ${shortId(user.id)}`);
  }
  if (mask & ACTIVE_REFERENCE && ctx.refsOf(imageId).length > 0) {
    return new DeleteConflict(imageId, false, false, 'image is referenced in multiple repositories');
  }
  if (mask & STOPPED_CONTAINER && user && !user.running) {
    return new DeleteConflict(imageId, false, true, `image is being used by stopped container ${shortId(user.id)}`);
  }
  return undefined;
}

async function deleteHelper(ctx: DeleteContext, imageId: string, records: DeleteItem[], force: boolean, prune: boolean,
  quiet: boolean, containerUsing: ContainerUsing): Promise<void> {
  const found = checkConflict(ctx, imageId, HARD | (force ? 0 : SOFT), containerUsing);
  if (found) {
    const dangling = ctx.refsOf(imageId).length === 0 && !ctx.hasChildren(imageId);
    // Quiet mode (pruning parents, or after untagging): conflicts only matter for a dangling, unused image.
    if (quiet && (!dangling || found.used)) return;
    throw found;
  }
  const parent = ctx.parentOf(imageId);
  const refs = ctx.refsOf(imageId);
  if (refs.length > 0) {
    await ctx.removeRefs(imageId, refs);
    for (const r of refs) records.push({ Untagged: familiarName(r) });
  }
  // A (forced) image still used by a stopped container keeps its layers: the container's rootfs is built on them.
  const keepLayers = containerUsing(imageId) !== undefined;
  const layers = await ctx.deleteImage(imageId, keepLayers);
  records.push({ Deleted: imageId });
  for (const chainId of layers) records.push({ Deleted: chainId });
  if (!prune || parent === undefined) return;
  // Parents go too when nothing else holds them; never forced, and silently kept on any conflict.
  await deleteHelper(ctx, parent, records, false, true, true, containerUsing);
}
