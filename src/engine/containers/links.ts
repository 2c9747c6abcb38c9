// Legacy container links (HostConfig.Links, `docker run --link name:alias`) on the default bridge: what the
// linking container gets at start, as docker gives it — environment variables describing the linked container
// (ALIAS_NAME, ALIAS_PORT_<port>_<PROTO>…, ALIAS_ENV_<var>) and /etc/hosts lines naming it.
import { invalidParameter, notFound } from '../../common/errors';

/** One link as stored: the linked container's name (without "/") and the alias. */
export interface Link { name: string; alias: string }

/** "name:alias", "/name:/me/alias" (inspect's form) or "name" → { name, alias }. */
export function parseLink(spec: string): Link {
  const i = spec.lastIndexOf(':');
  const name = (i < 0 ? spec : spec.slice(0, i)).replace(/^\//, '');
  const alias = (i < 0 ? name : spec.slice(i + 1)).split('/').pop()!;
  if (!name || !alias) throw invalidParameter(`invalid link: "${spec}"`);
  return { name, alias };
}

/** The form inspect shows: "/target:/container/alias". */
export const linkView = (l: Link, container: string) => `/${l.name}:/${container.replace(/^\//, '')}/${l.alias}`;

export interface LinkedContainer {
  /** its name without "/" */
  name: string;
  ip: string;
  env: string[];
  exposedPorts: string[];
}

/** The variables docker sets for one link (daemon/links in moby): names upper-cased, "-" as "_". */
export function linkEnv(self: string, link: Link, target: LinkedContainer): string[] {
  const a = link.alias.toUpperCase().replace(/-/g, '_');
  const env = [`${a}_NAME=/${self.replace(/^\//, '')}/${link.alias}`];
  const ports = target.exposedPorts.map((p) => { const [port, proto = 'tcp'] = p.split('/'); return { port: Number(port), proto }; })
    .filter((p) => Number.isInteger(p.port)).sort((x, y) => x.port - y.port || x.proto.localeCompare(y.proto));
  if (ports.length) env.push(`${a}_PORT=${ports[0].proto}://${target.ip}:${ports[0].port}`);
  for (const p of ports) {
    const k = `${a}_PORT_${p.port}_${p.proto.toUpperCase()}`;
    env.push(`${k}=${p.proto}://${target.ip}:${p.port}`, `${k}_ADDR=${target.ip}`, `${k}_PORT=${p.port}`, `${k}_PROTO=${p.proto}`);
  }
  for (const kv of target.env) {
    const i = kv.indexOf('=');
    if (i <= 0) continue;
    const key = kv.slice(0, i);
    if (key === 'HOME' || key === 'PATH') continue; // set by every image, meaningless to the linking container
    env.push(`${a}_ENV_${key}=${kv.slice(i + 1)}`);
  }
  return env;
}

/** The linked containers of a starting container, each running with an address, or docker's error. */
export function resolveLinks(links: Link[], get: (name: string) => LinkedContainer | undefined, running: (name: string) => boolean): Array<{ link: Link; target: LinkedContainer }> {
  return links.map((link) => {
    const target = get(link.name);
    if (!target) throw notFound(`Could not get container for ${link.name}`);
    if (!running(link.name)) throw invalidParameter(`Cannot link to a non running container: /${link.name} AS /${link.alias}`);
    return { link, target };
  });
}
