// The compose commands that act on a project's containers: up (detached, --wait, or attached to the logs with
// --abort-on-container-exit/--exit-code-from), down, start, stop, restart, kill, rm, pause, unpause, scale, wait,
// and the listings (ps rows, ls, images, top, port, events). Rendering is the CLI's; these return data or print
// progress and log lines through the env.
import type { ContainerSummary } from '../client';
import { ApiError } from '../client';
import { ComposeEnv, ComposeError, EventWatcher, projectContainers, serviceOf, nameOf, containerId, numberOf, filters } from './state';
import { createContainers, startContainers, ensureResources, selectServices, stopAndRemove, waitRunning, waitDependencies, UpOptions, CreateOptions } from './up';
import { ensureImages } from './images';
import { streamLogs, LogPrinter, displayName } from './logs';
import { traverse, withRestartDependents } from './graph';
import { L, imageName } from './convert';

export interface AttachOptions {
  detach?: boolean;
  abortOnContainerExit?: boolean;
  abortOnContainerFailure?: boolean;
  exitCodeFrom?: string;
  attach?: string[];
  noAttach?: string[];
  timestamps?: boolean;
  noLogPrefix?: boolean;
  color?: boolean;
  /** Installs the Ctrl-C handler; returns its remover. */
  onInterrupt?: (handler: () => void) => () => void;
}

/** `create`: resources, images, containers; nothing started. */
export async function create(env: ComposeEnv, services: string[] | undefined, o: CreateOptions): Promise<void> {
  const selected = selectServices(env.project, services, o.noDeps);
  env.progress.start('Running');
  try {
    await ensureResources(env, selected);
    await ensureImages(env, selected, o);
    await createContainers(env, selected, o);
  } finally {
    env.progress.done();
  }
}

/** `up`: returns the exit status. */
export async function up(env: ComposeEnv, services: string[] | undefined, o: UpOptions & AttachOptions): Promise<number> {
  const p = env.project;
  if (o.exitCodeFrom && !(o.exitCodeFrom in p.services)) throw new ComposeError(`no such service: ${o.exitCodeFrom}`);
  if (o.exitCodeFrom) o.abortOnContainerExit = true;
  if (o.detach && (o.abortOnContainerExit || o.abortOnContainerFailure)) throw new ComposeError('--abort-on-container-exit and --detach are incompatible');
  const selected = selectServices(p, services, o.noDeps);
  const watcher = new EventWatcher(env.client, p.name);
  const attached = !o.detach && !o.noStart && !o.wait;
  let conv;
  env.progress.start('Running');
  try {
    await ensureResources(env, selected);
    await ensureImages(env, selected, o);
    conv = await createContainers(env, selected, o);
    if (!o.noStart) {
      await startContainers(env, selected, conv, watcher, { quietStarted: attached });
      if (o.wait) await waitRunning(env, conv, watcher, o.waitTimeout);
    }
  } catch (err) {
    env.progress.done();
    watcher.close();
    throw err;
  }
  env.progress.done();
  if (!attached) { watcher.close(); return 0; }
  try {
    return await attachLogs(env, selected, o, watcher);
  } finally {
    watcher.close();
  }
}

/** Attached `up`: follows the logs until every attached container stopped (or one did, with abort). */
async function attachLogs(env: ComposeEnv, selected: string[], o: UpOptions & AttachOptions, watcher: EventWatcher): Promise<number> {
  const p = env.project;
  let names = o.attach?.length ? o.attach : selected.filter((n) => p.services[n].attach !== false);
  if (o.noAttach?.length) names = names.filter((n) => !o.noAttach!.includes(n));
  const containers = await projectContainers(env.client, p.name, { all: true, services: names });
  const printer = new LogPrinter(env, { noPrefix: o.noLogPrefix, color: o.color }, containers.map((c) => displayName(c, p.name)));
  env.out(`Attaching to ${containers.map((c) => displayName(c, p.name)).join(', ')}\n`);
  let exitCode = 0;
  let aborting: Promise<void> | undefined;
  const stopAll = async (): Promise<void> => {
    const all = await projectContainers(env.client, p.name, { all: true, services: selected });
    env.progress.start('Stopping');
    await traverse(p.services, selected, async (svc) => {
      await Promise.all(all.filter((c) => serviceOf(c) === svc && c.State === 'running').map(async (c) => {
        const id = containerId(nameOf(c));
        env.progress.event({ id, text: 'Stopping', status: 'working' });
        await env.client.containerStop(c.Id, { t: o.timeout }).catch(() => undefined);
        env.progress.event({ id, text: 'Stopped', status: 'done' });
      }));
    }, true).catch(() => undefined);
    env.progress.done();
  };
  let interrupted = false;
  const remove = o.onInterrupt?.(() => {
    if (interrupted) return;
    interrupted = true;
    env.out('Gracefully stopping... (press Ctrl+C again to force)\n');
    aborting = stopAll();
  });
  if (o.abortOnContainerExit || o.abortOnContainerFailure) await watcher.start();
  const abortWatch = (o.abortOnContainerExit || o.abortOnContainerFailure)
    ? watcher.until((e) => e.action === 'die' && containers.some((c) => c.Id === e.id)) : undefined;
  let abortedBy: { id: string; code: number } | undefined;
  abortWatch?.promise.then(async (e) => {
    const code = parseInt(e.attributes.exitCode ?? '0', 10);
    if (o.abortOnContainerFailure && code === 0) return;
    abortedBy = { id: e.id, code };
    env.out('Aborting on container exit...\n');
    aborting = stopAll();
  });
  let poll: NodeJS.Timeout | undefined;
  await Promise.race([
    streamLogs(env, containers, { follow: true, timestamps: o.timestamps, noPrefix: o.noLogPrefix }, printer, async (c) => {
      const info = await env.client.containerInspect(c.Id).catch(() => undefined);
      printer.note(`${displayName(c, p.name)} exited with code ${info?.State?.ExitCode ?? 0}`);
    }),
    // an abort (first exit, Ctrl-C) ends the wait once everything is stopped, whatever the log streams do
    new Promise<void>((resolve) => { poll = setInterval(() => { if (aborting) { clearInterval(poll); aborting.then(resolve); } }, 50); }),
  ]);
  clearInterval(poll);
  abortWatch?.cancel();
  if (aborting) await aborting;
  remove?.();
  if (interrupted) return 130;
  if (o.exitCodeFrom) {
    const c = (await projectContainers(env.client, p.name, { all: true, services: [o.exitCodeFrom] }))[0];
    if (c) exitCode = (await env.client.containerInspect(c.Id)).State?.ExitCode ?? 0;
  } else if (abortedBy) exitCode = abortedBy.code;
  return exitCode;
}

export interface DownOptions { removeOrphans?: boolean; volumes?: boolean; rmi?: string; timeout?: number; services?: string[] }

/** `down`: containers (dependents first), then networks, then volumes with -v, images with --rmi. */
export async function down(env: ComposeEnv, o: DownOptions): Promise<void> {
  const { client, project: p, progress } = env;
  progress.start('Running');
  try {
    const all = await projectContainers(client, p.name, { all: true, oneoff: true });
    const known = new Set(Object.keys(p.services));
    const selected = o.services?.length ? o.services : undefined;
    const mine = all.filter((c) => (selected ? selected.includes(serviceOf(c)) : known.has(serviceOf(c)) || c.Labels?.[L.oneoff] === 'True'));
    const orphans = all.filter((c) => !known.has(serviceOf(c)) && c.Labels?.[L.oneoff] !== 'True' && !(serviceOf(c) in p.disabled));
    if (orphans.length && !o.removeOrphans && !selected) {
      env.err(`WARN[0000] Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n`);
    }
    const servicesInOrder = [...known].filter((n) => mine.some((c) => serviceOf(c) === n));
    await traverse(p.services, servicesInOrder, async (svc) => {
      await Promise.all(mine.filter((c) => serviceOf(c) === svc).map((c) => stopAndRemove(env, c, o.timeout, !!o.volumes)));
    }, true);
    const rest = mine.filter((c) => !known.has(serviceOf(c)));
    if (o.removeOrphans) rest.push(...orphans.filter((c) => !rest.includes(c)));
    await Promise.all(rest.map((c) => stopAndRemove(env, c, o.timeout, !!o.volumes)));
    if (selected) return;
    // networks: those of this project (by label), never external ones
    await Promise.all(Object.entries(p.networks).filter(([, n]) => !n.external).map(async ([key, n]) => {
      const name = String(n.name);
      let net;
      try { net = await client.networkInspect(name); } catch (err) { if (err instanceof ApiError && err.notFound) return; throw err; }
      if (net.Labels?.[L.project] !== undefined && net.Labels[L.project] !== p.name) return;
      void key;
      const id = `Network ${name}`;
      progress.event({ id, text: 'Removing', status: 'working' });
      try {
        await client.networkRemove(net.Id ?? name);
        progress.event({ id, text: 'Removed', status: 'done' });
      } catch (err) {
        progress.event({ id, text: 'Error', status: 'error', details: err instanceof ApiError ? err.daemonMessage : String(err) });
        throw err;
      }
    }));
    if (o.volumes) {
      await Promise.all(Object.values(p.volumes).filter((v) => !v.external).map(async (v) => {
        const name = String(v.name);
        const id = `Volume ${name}`;
        try {
          await client.json('GET', `/volumes/${encodeURIComponent(name)}`);
        } catch (err) { if (err instanceof ApiError && err.notFound) return; throw err; }
        progress.event({ id, text: 'Removing', status: 'working' });
        await client.volumeRemove(name, false).catch((err) => { if (!(err instanceof ApiError && err.notFound)) throw err; });
        progress.event({ id, text: 'Removed', status: 'done' });
      }));
    }
    if (o.rmi) {
      const images = new Set<string>();
      for (const [n, s] of Object.entries(p.services)) {
        if (o.rmi === 'local' && s.image) continue;
        images.add(imageName(p.name, n, s));
      }
      for (const img of images) {
        const id = `Image ${img}`;
        try {
          await client.imageRemove(img, {});
          progress.event({ id, text: 'Removed', status: 'done' });
        } catch (err) {
          if (!(err instanceof ApiError && err.notFound)) progress.event({ id, text: 'Error', status: 'warning', details: err instanceof ApiError ? err.daemonMessage : String(err) });
        }
      }
    }
  } finally {
    progress.done();
  }
}

/** Containers of the named services (or all), in the order compose lists them. */
export async function containersOf(env: ComposeEnv, services: string[] | undefined, opts: { all?: boolean; oneoff?: boolean } = {}): Promise<ContainerSummary[]> {
  if (services?.length) for (const s of services) if (!(s in env.project.services)) throw new ComposeError(`no such service: ${s}`);
  return projectContainers(env.client, env.project.name, { all: opts.all !== false, oneoff: opts.oneoff, services });
}

type Verb = 'stop' | 'start' | 'restart' | 'kill' | 'pause' | 'unpause';
const TEXT: Record<Verb, [string, string]> = {
  stop: ['Stopping', 'Stopped'], start: ['Starting', 'Started'], restart: ['Restarting', 'Started'],
  kill: ['Killing', 'Killed'], pause: ['Pausing', 'Paused'], unpause: ['Unpausing', 'Unpaused'],
};

/** stop/start/restart/kill/pause/unpause over the project's containers, along the graph where order matters. */
export async function act(env: ComposeEnv, verb: Verb, services: string[] | undefined, o: { timeout?: number; signal?: string; noDeps?: boolean } = {}): Promise<void> {
  const p = env.project;
  if (services?.length) for (const s of services) if (!(s in p.services)) throw new ComposeError(`no such service: ${s}`);
  // restart takes along the services that declare `restart: true` on a restarted one, unless --no-deps
  if (verb === 'restart' && services?.length && !o.noDeps) services = withRestartDependents(p.services, services);
  const list = await containersOf(env, services);
  const applies = (c: ContainerSummary) => {
    switch (verb) {
      case 'stop': case 'kill': return c.State === 'running' || c.State === 'restarting' || c.State === 'paused';
      case 'start': return c.State !== 'running' && c.State !== 'paused';
      case 'pause': return c.State === 'running';
      case 'unpause': return c.State === 'paused';
      default: return true;
    }
  };
  const targets = list.filter(applies);
  const watcher = new EventWatcher(env.client, p.name);
  const restartedAt = new Map<string, number>();
  if (verb === 'start' && services?.length === 0 && !list.length) throw new ComposeError('service(s) not found');
  env.progress.start(verb === 'start' ? 'Running' : 'Running');
  const one = async (c: ContainerSummary) => {
    const id = containerId(nameOf(c));
    const [ing, ed] = TEXT[verb];
    env.progress.event({ id, text: ing, status: 'working' });
    try {
      if (verb === 'stop') await env.client.containerStop(c.Id, { t: o.timeout });
      else if (verb === 'start') await env.client.containerStart(c.Id);
      else if (verb === 'restart') await env.client.containerRestart(c.Id, { t: o.timeout });
      else if (verb === 'kill') await env.client.containerKill(c.Id, o.signal);
      else if (verb === 'pause') await env.client.containerPause(c.Id);
      else await env.client.containerUnpause(c.Id);
    } catch (err) {
      env.progress.event({ id, text: 'Error', status: 'error', details: err instanceof ApiError ? err.daemonMessage : String(err) });
      throw new ComposeError(err instanceof ApiError ? err.message : String(err));
    }
    env.progress.event({ id, text: ed, status: 'done' });
  };
  try {
    const svcNames = [...new Set(targets.map(serviceOf))].filter((n) => n in p.services);
    const other = targets.filter((c) => !(serviceOf(c) in p.services));
    if (verb === 'kill' || verb === 'pause' || verb === 'unpause') await Promise.all(targets.map(one));
    else {
      await traverse(p.services, svcNames, async (svc) => {
        // as compose restart: a service restarted with its dependency waits for the condition it declares on it
        // (its events from before that restart completed are not its state now)
        if (verb === 'restart') await waitDependencies(env, svc, p.services[svc], svcNames, watcher, (dep, cond) => cond.restart === true && svcNames.includes(dep), (dep) => restartedAt.get(dep));
        await Promise.all(targets.filter((c) => serviceOf(c) === svc).map(one));
        restartedAt.set(svc, Date.now());
      }, verb === 'stop');
      await Promise.all(other.map(one));
    }
  } finally {
    watcher.close();
    env.progress.done();
  }
}

/** `rm`: stopped containers of the services (running ones too with -s/--stop). */
export async function rm(env: ComposeEnv, services: string[] | undefined, o: { stop?: boolean; volumes?: boolean; confirm: (names: string[]) => Promise<boolean>; out: (s: string) => void }): Promise<void> {
  const list = await containersOf(env, services, { oneoff: true });
  if (o.stop) await act(env, 'stop', services);
  const fresh = o.stop ? await containersOf(env, services, { oneoff: true }) : list;
  const stopped = fresh.filter((c) => c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting');
  if (!stopped.length) { o.out('No stopped containers\n'); return; }
  if (!(await o.confirm(stopped.map(nameOf)))) return;
  env.progress.start('Running');
  try {
    await Promise.all(stopped.map((c) => stopAndRemove(env, c, undefined, !!o.volumes)));
  } finally {
    env.progress.done();
  }
}

/** `wait`: blocks until the services' containers stop; the first exit code (or all with --down-project). */
export async function wait(env: ComposeEnv, services: string[], downProject: boolean): Promise<number> {
  const list = await containersOf(env, services);
  const codes = await Promise.all(list.map((c) => env.client.containerWait(c.Id).result.then((r) => r.StatusCode)));
  if (downProject) await down(env, {});
  return codes[0] ?? 0;
}

/** The one container an exec/cp/attach/port addresses: `service` and `--index` (default 1). */
export async function serviceContainer(env: ComposeEnv, service: string, index = 0, running = true): Promise<ContainerSummary> {
  if (!(service in env.project.services)) throw new ComposeError(`no such service: ${service}`);
  const list = (await projectContainers(env.client, env.project.name, { all: !running, services: [service] }))
    .filter((c) => !running || c.State === 'running');
  if (!list.length) throw new ComposeError(`service "${service}" is not running`);
  if (index) {
    const c = list.find((x) => numberOf(x) === index);
    if (!c) throw new ComposeError(`service "${service}" is not running container #${index}`);
    return c;
  }
  return list[0];
}

/** `ls`: projects found by label, with their state counts and config files. */
export async function listProjects(client: ComposeEnv['client'], all: boolean, filter?: string): Promise<Array<{ Name: string; Status: string; ConfigFiles: string }>> {
  const list = await client.containerList({ all: '1', filters: filters({ label: [L.project] }) });
  const by = new Map<string, { states: Map<string, number>; files: string; running: boolean }>();
  for (const c of list) {
    const name = c.Labels?.[L.project] ?? '';
    if (filter && !name.includes(filter)) continue;
    const e = by.get(name) ?? { states: new Map(), files: c.Labels?.[L.configFiles] ?? '', running: false };
    e.states.set(c.State ?? 'unknown', (e.states.get(c.State ?? 'unknown') ?? 0) + 1);
    if (c.State === 'running') e.running = true;
    by.set(name, e);
  }
  return [...by.entries()].filter(([, e]) => all || e.running).sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => ({
    Name: name,
    Status: [...e.states.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}(${n})`).join(', '),
    ConfigFiles: e.files,
  }));
}

/** `scale svc=N …`: up without recreating, with those scales. */
export async function scale(env: ComposeEnv, scales: Record<string, number>, noDeps: boolean): Promise<void> {
  for (const s of Object.keys(scales)) if (!(s in env.project.services)) throw new ComposeError(`no such service: ${s}`);
  await up(env, Object.keys(scales), { detach: true, noRecreate: true, scale: scales, noDeps });
}

export { createContainers, startContainers };
