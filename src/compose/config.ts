// `config`: the canonical model as YAML or JSON in compose's layout (name, services, networks, volumes, secrets,
// configs, extensions; services and their keys in name order; nested entries in the spec's field order), and
// the `--services/--volumes/--networks/--profiles/--images/--hash` listings.
import { yamlLib } from './yaml';
import type { Project } from './types';
import { imageName, serviceHash } from './convert';

const sortKeys = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));

/** The model compose prints: plain data, keys ordered. */
export function canonical(p: Project): Record<string, unknown> {
  const out: Record<string, unknown> = { name: p.name };
  const services: Record<string, unknown> = {};
  for (const name of Object.keys(p.services).sort()) services[name] = sortKeys(p.services[name] as Record<string, unknown>);
  out.services = services;
  const section = (m: Record<string, Record<string, unknown>>) => {
    const keys = Object.keys(m).sort();
    if (!keys.length) return undefined;
    return Object.fromEntries(keys.map((k) => [k, sortKeys(m[k])]));
  };
  const n = section(p.networks); if (n) out.networks = n;
  const v = section(p.volumes); if (v) out.volumes = v;
  const s = section(p.secrets); if (s) out.secrets = s;
  const c = section(p.configs); if (c) out.configs = c;
  for (const [k, x] of Object.entries(p.extensions ?? {})) out[k] = x;
  return out;
}

export function configYaml(p: Project): string {
  return yamlLib().stringify(canonical(p), { lineWidth: 0, nullStr: 'null', aliasDuplicateObjects: false, indentSeq: true });
}

export function configJson(p: Project): string {
  return JSON.stringify(canonical(p), null, 4) + '\n';
}

export const listServices = (p: Project) => Object.keys(p.services).sort();
export const listVolumes = (p: Project) => Object.keys(p.volumes).sort();
export const listNetworks = (p: Project) => Object.keys(p.networks).sort();
export const listImages = (p: Project) => Object.keys(p.services).sort().map((n) => imageName(p.name, n, p.services[n]));

/** Every profile named by a service (enabled or not), sorted. */
export function listProfiles(p: Project): string[] {
  const set = new Set<string>();
  for (const s of [...Object.values(p.services), ...Object.values(p.disabled)]) for (const x of s.profiles ?? []) set.add(x);
  return [...set].sort();
}

/** `config --hash "a,b"` / `--hash "*"`: "service hash" lines. */
export function listHashes(p: Project, which: string): string[] {
  const names = which === '*' ? Object.keys(p.services).sort() : which.split(',').map((s) => s.trim()).filter(Boolean);
  return names.map((n) => {
    if (!(n in p.services)) throw new Error(`no such service: ${n}`);
    return `${n} ${serviceHash(p.services[n])}`;
  });
}
