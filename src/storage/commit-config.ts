// The image config document of `docker commit`: the container's Config (or one the request sends) with the
// `--change` instructions applied and the container's settings filling what the result leaves unset, on top of
// the container's image (its layers, history and platform) plus one layer for what the container changed.
// Written as docker writes it, so the same inputs give the same image id: top-level keys sorted, the run
// configs with Go's container.Config field order and zero values, map keys sorted.
import { applyChanges } from './changes';
import { hostPlatform, ImageConfigFile, ImageRunConfig } from './image-config';

type Obj = Record<string, unknown>;

/**
 * The new image's run config: `requested` (the request's Config; the container's own when absent) with `changes`
 * applied, then completed from the container's config the way docker completes it: User, WorkingDir, StopSignal
 * when empty; Env keys, Labels, ExposedPorts and Volumes the result lacks are added; Cmd and Entrypoint are taken
 * over when the result has no Entrypoint (an empty Cmd too); unset Healthcheck fields are filled. Throws 400
 * with docker's texts for a bad change.
 */
export function commitRunConfig(container: Obj, requested: Obj | undefined, changes: readonly string[]): Obj {
  const user = applyChanges(structuredClone(requested ?? container) as ImageRunConfig, changes) as Obj;
  fillFromContainer(user, container);
  return user;
}

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)
  || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as Obj).length === 0);

function fillFromContainer(user: Obj, container: Obj): void {
  for (const key of ['User', 'WorkingDir', 'StopSignal']) if (!user[key]) user[key] = container[key];
  if (isEmpty(user.ExposedPorts)) user.ExposedPorts = container.ExposedPorts;
  else user.ExposedPorts = { ...(container.ExposedPorts as Obj ?? {}), ...(user.ExposedPorts as Obj) };

  const userEnv = (user.Env as string[] | null | undefined) ?? [];
  if (userEnv.length === 0) user.Env = container.Env;
  else {
    const keys = new Set(userEnv.map((e) => e.split('=', 1)[0]));
    user.Env = [...userEnv, ...((container.Env as string[] | null | undefined) ?? []).filter((e) => !keys.has(e.split('=', 1)[0]))];
  }

  user.Labels = { ...(container.Labels as Obj ?? {}), ...(user.Labels as Obj ?? {}) };

  if (isEmpty(user.Entrypoint)) {
    if (isEmpty(user.Cmd)) user.Cmd = container.Cmd;
    // an explicit empty ENTRYPOINT stays empty; only an unset one is taken over
    if (user.Entrypoint === undefined || user.Entrypoint === null) user.Entrypoint = container.Entrypoint;
  }

  const hc = container.Healthcheck as Obj | undefined | null;
  if (hc) {
    const mine = user.Healthcheck as Obj | undefined | null;
    if (!mine) user.Healthcheck = hc;
    else for (const k of ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) if (isEmpty(mine[k]) || mine[k] === 0) mine[k] = hc[k];
  }

  if (isEmpty(user.Volumes)) user.Volumes = container.Volumes;
  else user.Volumes = { ...(user.Volumes as Obj), ...(container.Volumes as Obj ?? {}) };
}

export interface CommitConfigInput {
  /** The container's image config; undefined when that image is gone (its layers still exist). */
  parent?: ImageConfigFile;
  /** The container's image layers, bottom first. */
  parentDiffIds: readonly string[];
  /** The layer of the container's changes; undefined when it changed nothing (docker adds no layer then). */
  diffId?: string;
  /** commitRunConfig()'s result. */
  config: Obj;
  /** The container's Config as it is. */
  containerConfig: Obj;
  containerId: string;
  /** The container's command line, for the history entry's created_by (docker joins Cmd with spaces). */
  createdBy: string;
  author?: string;
  comment?: string;
  /** RFC 3339. */
  created: string;
}

/** The config document's bytes (their sha256 is the image id). */
export function commitConfigBytes(input: CommitConfigInput): Buffer {
  const p = input.parent;
  const host = hostPlatform();
  const history: Obj = { created: input.created };
  if (input.author) history.author = input.author;
  if (input.createdBy) history.created_by = input.createdBy;
  if (input.comment) history.comment = input.comment;
  if (!input.diffId) history.empty_layer = true;
  const doc: Obj = {
    architecture: p?.architecture ?? host.architecture,
    config: goContainerConfig(input.config),
    container: input.containerId,
    container_config: goContainerConfig(input.containerConfig),
    created: input.created,
    history: [...(p?.history ?? []), history],
    os: p?.os ?? host.os,
    rootfs: { type: 'layers', diff_ids: [...input.parentDiffIds, ...(input.diffId ? [input.diffId] : [])] },
  };
  if (input.author) doc.author = input.author;
  if (input.comment) doc.comment = input.comment;
  if (p?.variant) doc.variant = p.variant;
  if (p?.['os.version']) doc['os.version'] = p['os.version'];
  if (p?.['os.features']?.length) doc['os.features'] = p['os.features'];
  const sorted: Obj = {};
  for (const k of Object.keys(doc).sort()) sorted[k] = doc[k];
  return Buffer.from(JSON.stringify(sorted));
}

/** A map with its keys in Go's order (sorted), or null. */
function goMap(v: unknown): Obj | null {
  if (!v || typeof v !== 'object') return null;
  const out: Obj = {};
  for (const k of Object.keys(v as Obj).sort()) out[k] = (v as Obj)[k];
  return out;
}

const list = (v: unknown) => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : null);

/** container.Config as Go marshals it: every field without omitempty (zero values too), the others when set. */
export function goContainerConfig(c: Obj): Obj {
  const str = (k: string) => (typeof c[k] === 'string' ? c[k] : '');
  const bool = (k: string) => c[k] === true;
  const out: Obj = {
    Hostname: str('Hostname'), Domainname: str('Domainname'), User: str('User'),
    AttachStdin: bool('AttachStdin'), AttachStdout: bool('AttachStdout'), AttachStderr: bool('AttachStderr'),
  };
  const ports = goMap(c.ExposedPorts);
  if (ports && Object.keys(ports).length) out.ExposedPorts = ports;
  Object.assign(out, { Tty: bool('Tty'), OpenStdin: bool('OpenStdin'), StdinOnce: bool('StdinOnce'), Env: list(c.Env), Cmd: list(c.Cmd) });
  const hc = c.Healthcheck as Obj | null | undefined;
  if (hc) {
    const h: Obj = {};
    for (const k of ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) if (hc[k] !== undefined && hc[k] !== null && hc[k] !== 0) h[k] = hc[k];
    out.Healthcheck = h;
  }
  if (c.ArgsEscaped === true) out.ArgsEscaped = true;
  Object.assign(out, { Image: str('Image'), Volumes: goMap(c.Volumes), WorkingDir: str('WorkingDir'), Entrypoint: list(c.Entrypoint) });
  if (c.NetworkDisabled === true) out.NetworkDisabled = true;
  if (typeof c.MacAddress === 'string' && c.MacAddress) out.MacAddress = c.MacAddress;
  Object.assign(out, { OnBuild: list(c.OnBuild), Labels: goMap(c.Labels) });
  if (typeof c.StopSignal === 'string' && c.StopSignal) out.StopSignal = c.StopSignal;
  if (typeof c.StopTimeout === 'number') out.StopTimeout = c.StopTimeout;
  const shell = list(c.Shell);
  if (shell && shell.length) out.Shell = shell;
  return out;
}
