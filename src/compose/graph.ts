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
