// `create` and `up`: networks and volumes first, then images (build or pull where needed), then containers
// converged service by service along the dependency graph (created, recreated when their config hash changed,
// scaled up or down, left alone otherwise), then started along the graph, each service once what it depends on
// is started, healthy or completed as depends_on asks. Independent services go in parallel at every step.
import type { ContainerSummary, ContainerInspect } from '../client';
import { ApiError } from '../client';
import { ComposeEnv, ComposeError, EventWatcher, projectContainers, serviceOf, numberOf, nameOf, containerId } from './state';
import { containerPlan, networkBody, volumeBody, serviceHash, scaleOf, L, ContainerPlan } from './convert';
import { traverse, dependenciesOf, restartDependents } from './graph';
import { ensureImages, ImageOptions } from './images';
import type { Project, ServiceConfig, DependsOn } from './types';

export interface CreateOptions extends ImageOptions {
  services?: string[];
  noDeps?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  removeOrphans?: boolean;
  /** -V: new anonymous volumes instead of the replaced container's. */
  renewAnonVolumes?: boolean;
  scale?: Record<string, number>;
  timeout?: number;
  /** Recreate dependents of recreated services too (compose's --always-recreate-deps). */
  alwaysRecreateDeps?: boolean;
}

export interface UpOptions extends CreateOptions {
  noStart?: boolean;
  wait?: boolean;
  waitTimeout?: number;
}

/** The services an operation touches: the named ones (all when none) and, unless noDeps, what they depend on. */
export function selectServices(p: Project, names: string[] | undefined, noDeps = false): string[] {
  const all = Object.keys(p.services);
  if (!names?.length) return all;
  for (const n of names) {
    if (!(n in p.services)) throw new ComposeError(n in p.disabled ? `no such service: ${n}: service disabled` : `no such service: ${n}`);
  }
  const out = new Set<string>();
  const add = (n: string) => {
    if (out.has(n)) return;
    out.add(n);
    if (!noDeps) for (const d of dependenciesOf(p.services[n], p.services)) add(d);
  };
  names.forEach(add);
  return all.filter((n) => out.has(n));
}

/** Networks then volumes the selected services use; external ones must exist. */
export async function ensureResources(env: ComposeEnv, services: string[]): Promise<void> {
  const { client, project: p, progress } = env;
  const nets = new Set<string>();
  const vols = new Set<string>();
  for (const n of services) {
    const s = p.services[n];
    for (const k of Object.keys(s.networks ?? {})) nets.add(k);
    for (const v of s.volumes ?? []) if (v.type === 'volume' && v.source && v.source in p.volumes) vols.add(v.source);
  }
  await Promise.all([...nets].map(async (key) => {
    const n = p.networks[key];
    const name = String(n.name);
    if (n.external) {
      try { await client.networkInspect(name); } catch (err) {
        if (err instanceof ApiError && err.notFound) throw new ComposeError(`network ${name} declared as external, but could not be found`);
        throw err;
      }
      return;
    }
    try {
      const existing = await client.networkInspect(name);
      const owner = existing.Labels?.[L.project];
      if (owner !== undefined && owner !== p.name) env.err(`WARN[0000] a network with name ${name} exists but was not created for project "${p.name}".\nSet \`external: true\` to use an existing network\n`);
      return;
    } catch (err) {
      if (!(err instanceof ApiError && err.notFound)) throw err;
    }
    const id = `Network ${name}`;
    progress.event({ id, text: 'Creating', status: 'working' });
    try {
      await client.networkCreate(networkBody(p, key));
    } catch (err) {
      // a concurrent `up` created it meanwhile: fine
      if (!(err instanceof ApiError && err.status === 409)) {
        progress.event({ id, text: 'Error', status: 'error', details: (err as Error).message });
        throw new ComposeError(`failed to create network ${name}: ${(err as Error).message}`);
      }
    }
    progress.event({ id, text: 'Created', status: 'done' });
  }));
  await Promise.all([...vols].map(async (key) => {
    const v = p.volumes[key];
    const name = String(v.name);
    let exists = true;
    try {
      await client.json('GET', `/volumes/${encodeURIComponent(name)}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.notFound)) throw err;
      exists = false;
    }
    if (v.external) {
      if (!exists) throw new ComposeError(`external volume "${name}" not found`);
      return;
    }
    if (exists) return;
    const id = `Volume "${name}"`;
    progress.event({ id, text: 'Creating', status: 'working' });
    await client.volumeCreate(volumeBody(p, key));
    progress.event({ id, text: 'Created', status: 'done' });
  }));
}

/** Orphans: project containers whose service is no longer in the file (oneoff containers excluded). */
async function handleOrphans(env: ComposeEnv, all: ContainerSummary[], remove: boolean, timeout?: number): Promise<void> {
  const p = env.project;
  const orphans = all.filter((c) => !(serviceOf(c) in p.services) && !(serviceOf(c) in p.disabled));
  if (!orphans.length) return;
  if (!remove) {
    env.err(`WARN[0000] Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n`);
    return;
  }
  await Promise.all(orphans.map((c) => stopAndRemove(env, c, timeout, false)));
}

export async function stopAndRemove(env: ComposeEnv, c: ContainerSummary, timeout: number | undefined, volumes: boolean): Promise<void> {
  const name = nameOf(c);
  const id = containerId(name);
  if (isActive(c)) {
    env.progress.event({ id, text: 'Stopping', status: 'working' });
    await env.client.containerStop(c.Id, { t: timeout }).catch(ignore404);
    env.progress.event({ id, text: 'Stopped', status: 'done' });
  }
  env.progress.event({ id, text: 'Removing', status: 'working' });
  await env.client.containerRemove(c.Id, { force: '1', v: volumes ? '1' : undefined }).catch(ignore404);
  env.progress.event({ id, text: 'Removed', status: 'done' });
}

const isActive = (c: ContainerSummary) => c.State === 'running' || c.State === 'paused' || c.State === 'restarting';

const ignore404 = (err: unknown) => { if (!(err instanceof ApiError && (err.notFound || err.status === 409 && /already in progress/.test(err.daemonMessage)))) throw err; };

/** One service's containers after convergence, in number order, and whether each is running already. */
interface Converged { names: string[]; ids: string[]; running: boolean[] }

/**
 * Converges the containers of `services` (create/recreate/scale) along the graph. Returns, per service, the
 * containers that should be running.
 */
export async function createContainers(env: ComposeEnv, services: string[], o: CreateOptions): Promise<Map<string, Converged>> {
  const { client, project: p } = env;
  const all = await projectContainers(client, p.name, { all: true });
  await handleOrphans(env, all, !!o.removeOrphans, o.timeout);
  const result = new Map<string, Converged>();
  const recreated = new Set<string>();
  // per recreated service, once: its `restart: true` dependents stopped before it is replaced (compose's
  // stopDependentContainers); the start step starts them again once it is up
  const dependentsStopped = new Map<string, Promise<void>>();
  const stopDependents = (name: string) => {
    let done = dependentsStopped.get(name);
    if (!done) {
      const dependents = restartDependents(p.services, name).filter((d) => services.includes(d));
      done = traverse(p.services, dependents, async (d) => {
        await Promise.all(all.filter((c) => serviceOf(c) === d && isActive(c)).map(async (c) => {
          const id = containerId(nameOf(c));
          env.progress.event({ id, text: 'Stopping', status: 'working' });
          await client.containerStop(c.Id, { t: o.timeout }).catch(ignore404);
          c.State = 'exited';
          env.progress.event({ id, text: 'Stopped', status: 'done' });
        }));
      }, true);
      dependentsStopped.set(name, done);
    }
    return done;
  };
  await traverse(p.services, services, async (name) => {
    const s = p.services[name];
    const want = o.scale?.[name] ?? scaleOf(s);
    const mine = all.filter((c) => serviceOf(c) === name);
    const hash = serviceHash(s);
    const conv: Converged = { names: [], ids: [], running: [] };
    // scale down: the highest numbers go first
    const sorted = [...mine].sort((a, b) => numberOf(a) - numberOf(b));
    const keep = sorted.slice(0, want);
    await Promise.all(sorted.slice(want).map((c) => stopAndRemove(env, c, o.timeout, false)));
    const depRecreated = o.alwaysRecreateDeps && dependenciesOf(s, p.services).some((d) => recreated.has(d));
    await Promise.all(keep.map(async (c) => {
      const stale = c.Labels?.[L.hash] !== hash;
      const must = !o.noRecreate && (o.forceRecreate || stale || depRecreated);
      if (must) {
        await stopDependents(name);
        const id = await recreate(env, name, c, o);
        recreated.add(name);
        conv.names.push(nameOf(c)); conv.ids.push(id); conv.running.push(false);
      } else {
        conv.names.push(nameOf(c)); conv.ids.push(c.Id); conv.running.push(c.State === 'running');
        if (c.State === 'running') env.progress.event({ id: containerId(nameOf(c)), text: 'Running', status: 'done' });
      }
    }));
    let next = Math.max(0, ...mine.map(numberOf)) + 1;
    const creations: Promise<void>[] = [];
    for (let i = keep.length; i < want; i++) {
      const number = next++;
      creations.push((async () => {
        const plan = containerPlan(p, name, number, { publishPorts: true });
        const id = await createOne(env, plan);
        conv.names.push(plan.name); conv.ids.push(id); conv.running.push(false);
      })());
    }
    await settleAll(creations);
    result.set(name, conv);
  });
  return result;
}

/** Waits for all, then throws the first failure (so nothing is left half-reported). */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const r = await Promise.allSettled(ps);
  const bad = r.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (bad) throw bad.reason;
}

/** Creates a container from its plan and connects its extra networks; a failure removes what was created. */
async function createOne(env: ComposeEnv, plan: ContainerPlan, progressName = plan.name): Promise<string> {
  const { client, progress } = env;
  const id = containerId(progressName);
  progress.event({ id, text: 'Creating', status: 'working' });
  let cid: string;
  try {
    cid = (await client.containerCreate(plan.body, plan.name || undefined)).Id;
  } catch (err) {
    progress.event({ id, text: 'Error', status: 'error', details: errText(err) });
    throw createError(err, plan.name);
  }
  try {
    for (const n of plan.extraNetworks) await client.networkConnect(n.network, { Container: cid, EndpointConfig: n.config });
  } catch (err) {
    await client.containerRemove(cid, { force: '1' }).catch(() => undefined);
    progress.event({ id, text: 'Error', status: 'error', details: errText(err) });
    throw err;
  }
  progress.event({ id, text: 'Created', status: 'done' });
  return cid;
}

const errText = (err: unknown) => (err instanceof ApiError ? err.daemonMessage : (err as Error).message);

function createError(err: unknown, name: string): Error {
  if (err instanceof ApiError && err.status === 409) return new ComposeError(`Error response from daemon: ${err.daemonMessage}`);
  if (err instanceof ApiError && err.notFound && /image/i.test(err.daemonMessage)) return new ComposeError(`Error response from daemon: ${err.daemonMessage}`);
  void name;
  return err as Error;
}

/** Replaces a container whose configuration changed; its anonymous volumes go to the new one unless -V. */
async function recreate(env: ComposeEnv, service: string, old: ContainerSummary, o: CreateOptions): Promise<string> {
  const { client, project: p, progress } = env;
  const name = nameOf(old);
  const id = containerId(name);
  progress.event({ id, text: 'Recreate', status: 'working' });
  const number = numberOf(old) || 1;
  const plan = containerPlan(p, service, number, { publishPorts: true });
  if (!o.renewAnonVolumes) {
    // the old container's anonymous volumes (declared in the file or by the image) go to the new one, by target
    const info = await client.containerInspect(old.Id);
    const mounts = (plan.body.HostConfig as { Mounts: Array<{ Type: string; Source?: string; Target: string }> }).Mounts;
    for (const m of (info.Mounts as Array<{ Type?: string; Name?: string; Destination?: string }> | undefined) ?? []) {
      if (m.Type !== 'volume' || !m.Name || !/^[0-9a-f]{64}$/.test(m.Name) || !m.Destination) continue;
      const mine = mounts.find((x) => x.Target === m.Destination);
      if (!mine) mounts.push({ Type: 'volume', Source: m.Name, Target: m.Destination });
      else if (mine.Type === 'volume' && !mine.Source) mine.Source = m.Name;
    }
  }
  if (isActive(old)) await client.containerStop(old.Id, { t: o.timeout }).catch(ignore404);
  await client.containerRename(old.Id, `${old.Id.slice(0, 12)}_${name}`);
  let cid: string;
  try {
    cid = (await client.containerCreate(plan.body, plan.name)).Id;
    for (const n of plan.extraNetworks) await client.networkConnect(n.network, { Container: cid, EndpointConfig: n.config });
  } catch (err) {
    // put the old one back under its name: nothing is lost
    await client.containerRename(old.Id, name).catch(() => undefined);
    progress.event({ id, text: 'Error', status: 'error', details: errText(err) });
    throw createError(err, name);
  }
  await client.containerRemove(old.Id, { force: '1' }).catch(ignore404);
  progress.event({ id, text: 'Recreated', status: 'done' });
  return cid;
}

// ------------------------------------------------------------------------------------------------- start

export interface StartOptions {
  /** `up` (not `start`) leaves the "Started" lines out when attached, like compose. */
  quietStarted?: boolean;
  waitTimeout?: number;
}

/** Starts the converged containers along the graph, honouring depends_on conditions. */
export async function startContainers(env: ComposeEnv, services: string[], conv: Map<string, Converged>, watcher: EventWatcher, o: StartOptions = {}): Promise<void> {
  const { client, project: p, progress } = env;
  await traverse(p.services, services, async (name) => {
    const s = p.services[name];
    await waitDependencies(env, name, s, services, watcher);
    const c = conv.get(name);
    if (!c) return;
    await settleAll(c.ids.map(async (id, i) => {
      if (c.running[i]) return;
      const pid = containerId(c.names[i]);
      progress.event({ id: pid, text: 'Starting', status: 'working' });
      try {
        await client.containerStart(id);
      } catch (err) {
        progress.event({ id: pid, text: 'Error', status: 'error', details: errText(err) });
        throw new ComposeError(`Error response from daemon: ${errText(err)}`);
      }
      progress.event({ id: pid, text: 'Started', status: 'done' });
    }));
  });
}

/**
 * Waits until each dependency of `name` meets its condition (service_started is met by the traversal order);
 * `only` narrows which dependencies count (restart: those with `restart: true`).
 */
export async function waitDependencies(env: ComposeEnv, name: string, s: ServiceConfig, selected: string[], watcher: EventWatcher, only: (dep: string, cond: DependsOn) => boolean = () => true, after?: (dep: string) => number | undefined): Promise<void> {
  const { client, project: p } = env;
  const waits: Promise<void>[] = [];
  for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
    if (!(dep in p.services) || cond.condition === 'service_started' || !only(dep, cond)) continue;
    if (!selected.includes(dep) && cond.required === false) continue;
    waits.push((async () => {
      const containers = await projectContainers(client, p.name, { all: true, services: [dep] });
      if (!containers.length) {
        if (cond.required === false) return;
        throw new ComposeError(`service "${dep}" has no container to wait for`);
      }
      await Promise.all(containers.map((c) => cond.condition === 'service_healthy'
        ? waitHealthy(env, c.Id, nameOf(c), watcher, cond.required !== false, after?.(dep))
        : waitCompleted(env, c.Id, nameOf(c), dep, watcher, after?.(dep))));
    })());
  }
  await settleAll(waits);
}

/**
 * Resolves when the container is healthy; fails when it is unhealthy or exits. Follows health events; `after`
 * (ms since the epoch) leaves out older ones, which the watcher replays (a restart's own die, say).
 */
export async function waitHealthy(env: ComposeEnv, id: string, name: string, watcher: EventWatcher, required = true, after = 0): Promise<void> {
  const pid = containerId(name);
  await watcher.start();
  const sub = watcher.until((e) => e.id === id && (e.action.startsWith('health_status') || e.action === 'die') && !(e.time && e.time < after));
  try {
    const info = await env.client.containerInspect(id);
    const health = (info.State as { Health?: { Status?: string } } | undefined)?.Health?.Status;
    if (!health) throw new ComposeError(`container ${name} has no healthcheck configured`);
    if (health === 'healthy') { env.progress.event({ id: pid, text: 'Healthy', status: 'done' }); return; }
    env.progress.event({ id: pid, text: 'Waiting', status: 'working' });
    if (!info.State?.Running) throw new ComposeError(`dependency failed to start: container ${name} exited (${info.State?.ExitCode ?? 0})`);
    for (;;) {
      const e = await sub.promise;
      if (e.action === 'die') {
        if (!required) return;
        env.progress.event({ id: pid, text: 'Error', status: 'error' });
        throw new ComposeError(`dependency failed to start: container ${name} exited (${e.attributes.exitCode ?? '0'})`);
      }
      const status = e.action.replace(/^health_status:\s*/, '');
      if (status === 'healthy') { env.progress.event({ id: pid, text: 'Healthy', status: 'done' }); return; }
      if (status === 'unhealthy') {
        if (!required) return;
        env.progress.event({ id: pid, text: 'Error', status: 'error' });
        throw new ComposeError(`dependency failed to start: container ${name} is unhealthy`);
      }
      return waitHealthy(env, id, name, watcher, required, after);
    }
  } finally {
    sub.cancel();
  }
}

/** Resolves when the container exited with 0; fails on another exit code. `after` as for waitHealthy. */
async function waitCompleted(env: ComposeEnv, id: string, name: string, service: string, watcher: EventWatcher, after = 0): Promise<void> {
  const pid = containerId(name);
  await watcher.start();
  const sub = watcher.until((e) => e.id === id && e.action === 'die' && !(e.time && e.time < after));
  try {
    const info = await env.client.containerInspect(id);
    let code: number;
    if (info.State?.Running || info.State?.Status === 'created' || info.State?.Restarting) {
      env.progress.event({ id: pid, text: 'Waiting', status: 'working' });
      const e = await sub.promise;
      code = parseInt(e.attributes.exitCode ?? '0', 10);
    } else code = info.State?.ExitCode ?? 0;
    if (code !== 0) {
      env.progress.event({ id: pid, text: 'Error', status: 'error' });
      throw new ComposeError(`service "${service}" didn't complete successfully: exit ${code}`);
    }
    env.progress.event({ id: pid, text: 'Exited', status: 'done' });
  } finally {
    sub.cancel();
  }
}

/** `up --wait`: every started container running (and healthy when it has a healthcheck). */
export async function waitRunning(env: ComposeEnv, conv: Map<string, Converged>, watcher: EventWatcher, timeoutS?: number): Promise<void> {
  const work = Promise.all([...conv.values()].flatMap((c) => c.ids.map(async (id, i) => {
    const info: ContainerInspect = await env.client.containerInspect(id);
    const health = (info.State as { Health?: { Status?: string } } | undefined)?.Health?.Status;
    if (health) return waitHealthy(env, id, c.names[i], watcher);
    if (!info.State?.Running) {
      const svc = info.Config?.Labels?.[L.service] ?? '';
      const s = env.project.services[svc];
      // a one-shot that exited 0 and is not restarted counts as done, as compose's --wait does
      if ((info.State?.ExitCode ?? 1) === 0 && (!s?.restart || s.restart === 'no')) { env.progress.event({ id: containerId(c.names[i]), text: 'Exited', status: 'done' }); return; }
      throw new ComposeError(`container ${c.names[i]} exited (${info.State?.ExitCode ?? 0})`);
    }
    env.progress.event({ id: containerId(c.names[i]), text: 'Healthy', status: 'done' });
  })));
  if (!timeoutS) { await work; return; }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new ComposeError(`application not healthy after ${timeoutS}s`)), timeoutS * 1000); });
  try { await Promise.race([work, timeout]); } finally { if (timer) clearTimeout(timer); }
}

