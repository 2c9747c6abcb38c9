// `docker diff` and `docker commit` for one container, from its overlay upper dir (which outlives the container's
// run, so both work on stopped containers without mounting anything). The engine supplies the container, the
// image's layer dirs and the freezing (pause) around a commit; this module decides what the answer is.
import { promises as fs } from 'fs';
import { invalidParameter, notFound } from '../../common/errors';
import { log } from '../../common/log';
import {
  Change, commitConfigBytes, commitRunConfig, ImageRecord, ImageStore, isValidTag, layerTar, overlayChanges,
  parseReference, Reference, runtimeCreatedTargets, StagedLayer,
} from '../../storage';
import { validateBody } from './create';
import type { ContainerRecord } from './types';
import { failpoint } from '../../common/failpoint';

/**
 * What the runtime creates in the rootfs when an image lacks it, as mount targets (runtime/spec.ts mounts /proc,
 * /dev and /sys; the engine bind-mounts its /etc files). Docker keeps such entries in its "init" layer, so its
 * diff and commit never show them; berth leaves them out when they are nothing more than that.
 */
export const RUNTIME_MOUNT_TARGETS = ['dev', 'proc', 'sys', 'etc', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf'];

/** A tar of no entries: a commit of a container that changed nothing adds no layer (docker does the same). */
const EMPTY_TAR_DIGEST = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Freeze a running container while its changes are read (default true). */
  pause?: boolean;
  /** Dockerfile instructions (CMD, ENV, …). */
  changes?: string[];
  /** The request body: a container Config to start from instead of the container's own. */
  config?: unknown;
}

/** GET /containers/{id}/changes. */
export async function containerChanges(upper: string, lowers: readonly string[]): Promise<Change[]> {
  const hidden = await runtimeCreatedTargets(upper, lowers, RUNTIME_MOUNT_TARGETS);
  return overlayChanges(upper, lowers, { hidden });
}

/** ?repo=&tag= as the tag to give the new image; undefined without a repo. Docker's 400 texts. */
export function commitTarget(repo = '', tag = ''): Reference | undefined {
  if (!repo) return undefined;
  const ref = parseReference(repo);
  if (ref.digest !== undefined) throw invalidParameter('refusing to create a tag with a digest reference');
  if (tag && !isValidTag(tag)) throw invalidParameter('invalid tag format');
  return { domain: ref.domain, path: ref.path, tag: tag || ref.tag || 'latest' };
}

/** The container.Config fields a commit request body may set (HostConfig and the like are ignored, as by docker). */
const CONFIG_FIELDS = ['Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'ExposedPorts', 'Tty',
  'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Healthcheck', 'ArgsEscaped', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint',
  'NetworkDisabled', 'MacAddress', 'OnBuild', 'Labels', 'StopSignal', 'StopTimeout', 'Shell'];

/** The request body as a Config, or undefined when it sets none of its fields (docker then uses the container's). */
export function requestedConfig(body: unknown): Record<string, unknown> | undefined {
  if (body === undefined || body === null) return undefined;
  const b = validateBody(body) as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const k of CONFIG_FIELDS) if (b[k] !== undefined) picked[k] = b[k];
  if (Object.keys(picked).length === 0) return undefined;
  // a string is a one-word command (strslice accepts both)
  for (const k of ['Cmd', 'Entrypoint']) if (typeof picked[k] === 'string') picked[k] = [picked[k]];
  return picked;
}

export interface BuildCommitInput {
  images: ImageStore;
  rec: ContainerRecord;
  upper: string;
  /** The image's layer dirs, top-most first. */
  lowers: readonly string[];
  /** commitRunConfig()'s result. */
  config: Record<string, unknown>;
  target?: Reference;
  author?: string;
  comment?: string;
  /** The history entry's created_by; default: the container's command (docker commit). */
  createdBy?: string;
}

/** Reads the upper dir into a new layer and makes the image. The container must hold still meanwhile. */
export async function buildCommit(input: BuildCommitInput): Promise<ImageRecord> {
  const { images, rec, upper, lowers } = input;
  const base = images.tryGet(rec.Image);
  const baseDiffIds = base ? base.diffIds : (rec.Layers ?? []).map((c) => images.layerDiffId(c) ?? '');
  if (baseDiffIds.some((d) => d === '')) throw notFound(`No such image: ${rec.Image}`);
  const t0 = Date.now();
  const mark = (step: string) => log.debug('commit step', { id: rec.Id.slice(0, 12), step, ms: Date.now() - t0 });
  let staged: StagedLayer | undefined;
  if (await isDir(upper)) {
    const exclude = await runtimeCreatedTargets(upper, lowers, RUNTIME_MOUNT_TARGETS);
    staged = await images.stageLayer(layerTar(upper, { exclude, reuseBuffers: true }));
    mark('layer staged');
    await failpoint('commit.after-layer');
    if (staged.diffId === EMPTY_TAR_DIGEST) {
      await images.discardStaged(staged);
      staged = undefined;
    }
  }
  const bytes = commitConfigBytes({
    parent: base?.config, parentDiffIds: baseDiffIds, diffId: staged?.diffId, config: input.config,
    containerConfig: rec.Config as unknown as Record<string, unknown>, containerId: rec.Id,
    createdBy: input.createdBy ?? (rec.Config.Cmd ?? []).join(' '), author: input.author, comment: input.comment, created: new Date().toISOString(),
  });
  const image = await images.commitImage(bytes, staged ? [staged] : [], { tags: input.target ? [input.target] : [], parent: base?.id });
  mark('image committed');
  return image;
}

/** The new image's run config; throws 400 for a bad body or change before anything is touched. */
export function commitConfig(rec: ContainerRecord, opts: CommitOptions): Record<string, unknown> {
  return commitRunConfig(rec.Config as unknown as Record<string, unknown>, requestedConfig(opts.config), opts.changes ?? []);
}

async function isDir(p: string): Promise<boolean> {
  return (await fs.lstat(p).catch(() => undefined))?.isDirectory() ?? false;
}
