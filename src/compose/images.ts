// Images of a project: which to build and which to pull before containers are created (pull_policy, --build,
// --no-build, --pull), building through the engine's POST /build (context, dockerfile, args, target, labels) and
// pulling through POST /images/create, with compose's progress lines.
import { ApiError, readJsonStream } from '../client';
import { ComposeEnv, ComposeError } from './state';
import { imageName, L } from './convert';
import type { ServiceConfig } from './types';

export interface ImageOptions {
  build?: boolean;
  noBuild?: boolean;
  /** --pull: always | missing | never | build */
  pull?: string;
  quietPull?: boolean;
}

const known = new WeakMap<ComposeEnv, Map<string, Promise<boolean>>>();

/** Whether the daemon has `ref`; asked once per reference and operation (41 services on busybox: one request). */
function imageExists(env: ComposeEnv, ref: string): Promise<boolean> {
  let m = known.get(env);
  if (!m) known.set(env, (m = new Map()));
  let p = m.get(ref);
  if (!p) m.set(ref, (p = askImage(env, ref)));
  return p;
}

async function askImage(env: ComposeEnv, ref: string): Promise<boolean> {
  try {
    await env.client.json('GET', `/images/${ref.split('/').map(encodeURIComponent).join('/').replace(/%3A/gi, ':').replace(/%40/g, '@')}/json`);
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.notFound) return false;
    throw err;
  }
}

/** Builds and pulls what `services` need, in parallel (builds one at a time: they share the daemon's CPU). */
export async function ensureImages(env: ComposeEnv, services: string[], o: ImageOptions): Promise<void> {
  const p = env.project;
  const toBuild: string[] = [];
  const toPull: string[] = [];
  await Promise.all(services.map(async (name) => {
    const s = p.services[name];
    const ref = imageName(p.name, name, s);
    const policy = o.pull && o.pull !== 'policy' ? o.pull : s.pull_policy ?? 'missing';
    if (s.build) {
      if (o.noBuild) {
        if (!(await imageExists(env, ref))) throw new ComposeError(`service "${name}" has neither an image nor a build context specified: image ${ref} not found and building is disabled`);
        return;
      }
      if (o.build || policy === 'build' || !(await imageExists(env, ref))) toBuild.push(name);
      return;
    }
    if (!s.image) throw new ComposeError(`service "${name}" has neither an image nor a build context specified: invalid compose project`);
    if (policy === 'never') return;
    if (policy === 'always' || !(await imageExists(env, ref))) toPull.push(name);
  }));
  await Promise.all(toPull.map((n) => pullService(env, n, o.quietPull)));
  for (const n of toBuild) await buildService(env, n, {});
}

/** Pulls one service's image ("web Pulling" … "web Pulled"). */
export async function pullService(env: ComposeEnv, name: string, quiet = false, ignoreFailures = false): Promise<void> {
  const s = env.project.services[name];
  const ref = s.image!;
  const id = name;
  if (!quiet) env.progress.event({ id, text: 'Pulling', status: 'working' });
  const [repo, tag] = splitRef(ref);
  try {
    const auth = await env.registryAuth?.(ref);
    const res = await env.client.imageCreate({ fromImage: repo, tag }, undefined, auth ? { 'X-Registry-Auth': auth } : undefined);
    await throwStreamError(res, 'pull failed');
  } catch (err) {
    const msg = err instanceof ApiError ? err.daemonMessage : (err as Error).message;
    if (!quiet) env.progress.event({ id, text: 'Error', status: ignoreFailures ? 'warning' : 'error', details: msg });
    if (ignoreFailures) return;
    throw new ComposeError(`Error response from daemon: ${msg}`, 18);
  }
  if (!quiet) env.progress.event({ id, text: 'Pulled', status: 'done' });
}

/** Reads a JSON progress stream to its end; an error message in it becomes a ComposeError. */
async function throwStreamError(res: NodeJS.ReadableStream, fallback: string): Promise<void> {
  let failure = '';
  await readJsonStream(res, (v) => {
    const m = v as { error?: string; errorDetail?: { message?: string } };
    if (m.error || m.errorDetail) failure = m.errorDetail?.message ?? m.error ?? fallback;
  });
  if (failure) throw new ComposeError(failure);
}

/** name[:tag] / name@digest → [name, tag or digest]. */
export function splitRef(ref: string): [string, string] {
  const at = ref.indexOf('@');
  if (at >= 0) return [ref.slice(0, at), ref.slice(at + 1)];
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, 'latest'];
}

export interface BuildOptions { noCache?: boolean; pull?: boolean; quiet?: boolean; args?: Record<string, string> }

/** Builds one service through POST /build; the image is tagged `image:` or `project-service`. */
export async function buildService(env: ComposeEnv, name: string, o: BuildOptions): Promise<void> {
  const p = env.project;
  const s: ServiceConfig = p.services[name];
  const b = s.build!;
  if (!env.packContext) throw new ComposeError('building is not available in this client');
  const ref = imageName(p.name, name, s);
  const id = `Service ${name}`;
  env.progress.event({ id, text: 'Building', status: 'working' });
  const fs = require('fs') as typeof import('fs');
  if (!fs.existsSync(b.context)) throw new ComposeError(`unable to prepare context: path "${b.context}" not found`);
  const dockerfile = b.dockerfile ?? 'Dockerfile';
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(b.args ?? {})) {
    const val = v ?? p.environment?.[k];
    if (val !== undefined && val !== null) args[k] = val;
  }
  Object.assign(args, o.args ?? {});
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(b.labels ?? {})) labels[k] = v ?? '';
  labels[L.project] = p.name;
  labels[L.service] = name;
  labels[L.version] = require('./convert').COMPOSE_VERSION;
  const body = await env.packContext(b.context, dockerfile);
  const tags = [ref, ...(b.tags ?? [])];
  let res;
  try {
    res = await env.client.request('POST', '/build', {
      query: {
        t: tags, dockerfile, buildargs: JSON.stringify(args), labels: JSON.stringify(labels), target: b.target || undefined,
        nocache: o.noCache || b.no_cache ? '1' : undefined, pull: o.pull || b.pull ? '1' : undefined, rm: '1', forcerm: '1', networkmode: b.network || undefined,
      },
      body, contentType: 'application/x-tar',
    });
  } catch (err) {
    env.progress.event({ id, text: 'Error', status: 'error' });
    throw new ComposeError(`failed to solve: ${err instanceof ApiError ? err.daemonMessage : (err as Error).message}`, 17);
  }
  let failure = '';
  await readJsonStream(res, (v) => {
    const m = v as { stream?: string; error?: string; errorDetail?: { message?: string } };
    if (m.error || m.errorDetail) failure = m.errorDetail?.message ?? m.error ?? 'build failed';
    else if (m.stream && !o.quiet && process.env.BERTH_COMPOSE_BUILD_LOG) env.err(m.stream);
  });
  if (failure) {
    env.progress.event({ id, text: 'Error', status: 'error', details: failure.trim() });
    throw new ComposeError(`failed to solve: ${failure.trim()}`, 17);
  }
  env.progress.event({ id, text: 'Built', status: 'done' });
}

/** Pushes the image of each service that has an `image:` (built images are pushed by their name). */
export async function pushService(env: ComposeEnv, name: string, ignoreFailures: boolean): Promise<void> {
  const s = env.project.services[name];
  if (!s.image) return;
  const id = `Image ${s.image}`;
  env.progress.event({ id, text: 'Pushing', status: 'working' });
  const [repo, tag] = splitRef(s.image);
  try {
    const auth = await env.registryAuth?.(s.image);
    const res = await env.client.request('POST', `/images/${repo.split('/').map(encodeURIComponent).join('/')}/push`, { query: { tag }, headers: { 'X-Registry-Auth': auth ?? 'e30=' } });
    await throwStreamError(res, 'push failed');
  } catch (err) {
    const msg = err instanceof ApiError ? err.daemonMessage : (err as Error).message;
    env.progress.event({ id, text: 'Error', status: ignoreFailures ? 'warning' : 'error', details: msg });
    if (!ignoreFailures) throw new ComposeError(msg);
    return;
  }
  env.progress.event({ id, text: 'Pushed', status: 'done' });
}
