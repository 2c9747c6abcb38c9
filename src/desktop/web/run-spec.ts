// The run form's fields → a container create body, with docker's -p / -e / -v syntax. Pure, so it is
// unit-tested without a browser.

export interface RunForm {
  image: string; name: string; command: string; ports: string; env: string; volumes: string; network: string;
  restart: string;
}

export class FormError extends Error {}

/** docker's -p: [ip:][hostPort:]containerPort[/proto] (hostPort may be empty: "127.0.0.1::80"). */
export function parsePort(spec: string): { key: string; binding?: { HostIp: string; HostPort: string } } {
  const m = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d*):)?(\d+)(?:\/(tcp|udp|sctp))?$/.exec(spec.trim());
  if (!m) throw new FormError(`invalid port "${spec.trim()}": use [ip:][hostPort:]containerPort[/tcp|udp]`);
  const cport = Number(m[3]);
  const hport = m[2] ? Number(m[2]) : 0;
  if (cport < 1 || cport > 65535 || hport > 65535) throw new FormError(`invalid port "${spec.trim()}": out of range`);
  const key = `${cport}/${m[4] ?? 'tcp'}`;
  const published = m[1] !== undefined || m[2] !== undefined;
  return { key, binding: published || /:/.test(spec) ? { HostIp: (m[1] ?? '').replace(/^\[|\]$/g, ''), HostPort: m[2] ?? '' } : undefined };
}

const items = (s: string) => s.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);

/** Shell-like split of a command line: quotes group words; no expansion. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2] ?? m[3]);
  return out;
}

export function buildCreateBody(f: RunForm): Record<string, unknown> {
  const image = f.image.trim();
  if (!image) throw new FormError('an image is required');
  if (/\s/.test(image)) throw new FormError(`invalid reference format: "${image}"`);
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of items(f.ports)) {
    const { key, binding } = parsePort(p);
    exposed[key] = {};
    if (binding) (bindings[key] ??= []).push(binding);
  }
  const env = items(f.env.replace(/,/g, '\n')).map((e) => {
    if (e.startsWith('=')) throw new FormError(`invalid environment variable: ${e}`);
    return e;
  });
  const binds = items(f.volumes).map((v) => {
    const parts = v.split(':');
    if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1].startsWith('/')) {
      throw new FormError(`invalid volume "${v}": use name:/path or /host/path:/path[:ro]`);
    }
    if (parts[2] !== undefined && !/^(ro|rw)$/.test(parts[2])) throw new FormError(`invalid mode "${parts[2]}" in "${v}"`);
    return v;
  });
  const cmd = splitCommand(f.command);
  const body: Record<string, unknown> = {
    Image: image, ExposedPorts: exposed, Env: env, Labels: {},
    HostConfig: {
      PortBindings: bindings, Binds: binds, RestartPolicy: { Name: f.restart || 'no' },
      NetworkMode: f.network || 'default',
    },
  };
  if (cmd.length) body.Cmd = cmd;
  return body;
}

export function checkName(name: string): void {
  if (name && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw new FormError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
}
