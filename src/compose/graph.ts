// The service dependency graph (depends_on, network_mode: service:x, volumes_from, links): cycle detection with
// compose-go's message, and parallel traversal — each service runs as soon as everything it depends on is done
// (up), or as soon as everything depending on it is done (down), with no other ordering between services.
import type { ServiceConfig } from './types';

export class CycleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CycleError';
  }
}

/** The services `s` depends on (only those present in `all`). */
export function dependenciesOf(s: ServiceConfig, all: Record<string, unknown>): string[] {
  const deps = new Set<string>(Object.keys(s.depends_on ?? {}));
  if (s.network_mode?.startsWith('service:')) deps.add(s.network_mode.slice(8));
  for (const l of (s.links as string[] | undefined) ?? []) deps.add(l.split(':')[0]);
  for (const v of (s.volumes_from as string[] | undefined) ?? []) if (!v.startsWith('container:')) deps.add(v.split(':')[0]);
  return [...deps].filter((d) => d in all);
}

/** Throws `dependency cycle detected: a -> b -> a` (services visited in name order, like compose-go). */
export function checkCycles(services: Record<string, ServiceConfig>): void {
  const state = new Map<string, 1 | 2>();
  const visit = (name: string, trail: string[]) => {
    if (state.get(name) === 2) return;
    if (state.get(name) === 1) {
      const i = trail.indexOf(name);
      throw new CycleError(`dependency cycle detected: ${trail.slice(i).join(' -> ')} -> ${name}`);
    }
    state.set(name, 1);
    for (const d of dependenciesOf(services[name], services).sort()) visit(d, [...trail, name]);
    state.set(name, 2);
  };
  for (const name of Object.keys(services).sort()) visit(name, []);
}

/**
 * Runs `fn` for each of `names` in dependency order (reverse: dependents first), as parallel as the graph allows.
 * Dependencies outside `names` are not waited for. The first failure stops new work; the promise rejects with it
 * once the work already started has settled.
 */
export async function traverse(
  services: Record<string, ServiceConfig>, names: string[], fn: (name: string) => Promise<void>, reverse = false,
): Promise<void> {
  const set = new Set(names);
  const edges = new Map<string, string[]>(); // name -> what must finish before it
  for (const n of names) edges.set(n, []);
  for (const n of names) {
    for (const d of dependenciesOf(services[n], services)) {
      if (!set.has(d)) continue;
      if (reverse) edges.get(d)!.push(n); else edges.get(n)!.push(d);
    }
  }
  const done = new Set<string>();
  const started = new Set<string>();
  let failure: unknown;
  let running = 0;
  return new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (failure === undefined) {
        for (const n of names) {
          if (started.has(n)) continue;
          if (!edges.get(n)!.every((d) => done.has(d))) continue;
          started.add(n);
          running++;
          fn(n).then(() => { done.add(n); }, (err) => { if (failure === undefined) failure = err ?? new Error('failed'); })
            .finally(() => { running--; pump(); });
        }
      }
      if (running === 0) {
        if (failure !== undefined) reject(failure);
        else if (done.size === names.length) resolve();
        else if (failure === undefined) reject(new CycleError('dependency cycle detected'));
      }
    };
    pump();
  });
}

/** The services that declare `restart: true` on `name` in depends_on (compose-go's GetDependentsForService). */
export function restartDependents(services: Record<string, ServiceConfig>, name: string): string[] {
  return Object.keys(services).filter((n) => services[n].depends_on?.[name]?.restart === true);
}

/**
 * What `compose restart names` restarts: the named services and, transitively, every service that declares
 * `restart: true` on one of them (compose restart's IncludeDependents over the restart: true relations only), in
 * `services` order.
 */
export function withRestartDependents(services: Record<string, ServiceConfig>, names: string[]): string[] {
  const out = new Set<string>();
  const add = (n: string) => {
    if (out.has(n)) return;
    out.add(n);
    for (const d of restartDependents(services, n)) add(d);
  };
  names.forEach(add);
  return Object.keys(services).filter((n) => out.has(n));
}
