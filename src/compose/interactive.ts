// `exec`, `run` and `attach`: a container's streams wired to this process's — raw terminal and resize when a TTY
// is used, stdcopy demultiplexing otherwise, stdin forwarded when interactive.
import { randomBytes } from 'crypto';
import type { Hijacked } from '../client';
import { StdcopyDemuxer } from '../client';
import { ComposeEnv, ComposeError } from './state';
import { containerPlan, L } from './convert';
import { up } from './ops';
import { selectServices, ensureResources } from './up';
import { ensureImages } from './images';
import { parsePortShort, parseVolumeShort, shellSplit } from './normalize';

interface StreamOpts { tty: boolean; stdin: boolean }

/** Copies the hijacked stream to stdout/stderr (and stdin to it); resolves when the output ends. */
function pump(h: Hijacked, o: StreamOpts): Promise<void> {
  const { socket, head } = h;
  const raw = o.tty && o.stdin && !!process.stdin.isTTY;
  if (raw) process.stdin.setRawMode?.(true);
  const demux = o.tty ? undefined : new StdcopyDemuxer((b) => process.stdout.write(b), (b) => process.stderr.write(b));
  const onData = (b: Buffer) => { if (demux) demux.push(b); else process.stdout.write(b); };
  if (head?.length) onData(head);
  socket.on('data', onData);
  if (o.stdin) {
    process.stdin.on('data', (b) => socket.write(b));
    process.stdin.on('end', () => { if (!o.tty) socket.end(); });
    process.stdin.resume();
  }
  return new Promise((resolve) => {
    const done = () => {
      if (raw) process.stdin.setRawMode?.(false);
      process.stdin.pause();
      resolve();
    };
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
  });
}

function resizer(env: ComposeEnv, path: string): () => void {
  if (!process.stdout.isTTY) return () => undefined;
  const resize = () => env.client.call('POST', path, { query: { h: process.stdout.rows, w: process.stdout.columns } }).catch(() => undefined);
  resize();
  process.stdout.on('resize', resize);
  return () => process.stdout.off('resize', resize);
}

export interface ExecOptions {
  command: string[];
  detach?: boolean;
  noTty?: boolean;
  env?: string[];
  user?: string;
  workdir?: string;
  privileged?: boolean;
  interactive?: boolean;
}

/** `exec`: returns the command's exit code. */
export async function exec(env: ComposeEnv, containerId: string, o: ExecOptions): Promise<number> {
  const tty = !o.noTty && !!process.stdin.isTTY && !o.detach;
  const stdin = o.interactive !== false && !o.detach;
  const body = {
    AttachStdin: stdin, AttachStdout: !o.detach, AttachStderr: !o.detach, Tty: tty, Cmd: o.command,
    Env: o.env ?? [], User: o.user ?? '', WorkingDir: o.workdir ?? '', Privileged: !!o.privileged, DetachKeys: '',
  };
  const { Id } = await env.client.execCreate(containerId, body);
  if (o.detach) {
    await env.client.execStart(Id, { Detach: true, Tty: false });
    return 0;
  }
  const h = await env.client.execStartHijack(Id, { Detach: false, Tty: tty });
  const stopResize = tty ? resizer(env, `/exec/${Id}/resize`) : () => undefined;
  await pump(h, { tty, stdin });
  stopResize();
  const info = await env.client.execInspect(Id);
  return info.ExitCode ?? 0;
}

export interface RunOptions {
  command?: string[];
  entrypoint?: string;
  env?: string[];
  labels?: string[];
  name?: string;
  noDeps?: boolean;
  publish?: string[];
  volumes?: string[];
  user?: string;
  workdir?: string;
  noTty?: boolean;
  detach?: boolean;
  rm?: boolean;
  servicePorts?: boolean;
  interactive?: boolean;
  useAliases?: boolean;
  build?: boolean;
  quietPull?: boolean;
}

/** `run`: a one-off container of a service; returns its exit code (or 0 with -d, printing its name). */
export async function run(env: ComposeEnv, service: string, o: RunOptions): Promise<number> {
  const p = env.project;
  if (!(service in p.services)) throw new ComposeError(`no such service: ${service}`);
  const s = p.services[service];
  // dependencies first (detached), without the service itself; then its own networks, volumes and image
  if (!o.noDeps) {
    const deps = selectServices(p, [service]).filter((n) => n !== service);
    if (deps.length) await up(env, deps, { detach: true, quietPull: o.quietPull });
  }
  env.progress.start('Running');
  try {
    await ensureResources(env, [service]);
    await ensureImages(env, [service], { build: o.build, quietPull: o.quietPull });
  } finally {
    env.progress.done();
  }
  const plan = containerPlan(p, service, 0, { oneoff: true, publishPorts: !!o.servicePorts });
  const slug = randomBytes(32).toString('hex');
  const name = o.name || `${p.name}-${service}-run-${slug.slice(0, 12)}`;
  const body = plan.body as Record<string, unknown> & { Labels: Record<string, string>; HostConfig: Record<string, unknown>; Env: string[] };
  body.Labels[L.slug] = slug;
  for (const l of o.labels ?? []) { const i = l.indexOf('='); body.Labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1); }
  if (o.command?.length) body.Cmd = o.command;
  if (o.entrypoint !== undefined) { body.Entrypoint = o.entrypoint === '' ? [''] : shellSplit(o.entrypoint); if (!o.command?.length) body.Cmd = null; }
  if (o.env?.length) {
    const envMap = new Map(body.Env.map((e) => [e.split('=')[0], e] as [string, string]));
    for (const e of o.env) {
      const k = e.split('=')[0];
      envMap.set(k, e.includes('=') ? e : process.env[k] !== undefined ? `${k}=${process.env[k]}` : k);
    }
    body.Env = [...envMap.values()];
  }
  if (o.user !== undefined) body.User = o.user;
  if (o.workdir !== undefined) body.WorkingDir = o.workdir;
  if (o.publish?.length) {
    const pb = (body.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
    const ex = (body.ExposedPorts ?? {}) as Record<string, object>;
    for (const spec of o.publish) {
      for (const port of parsePortShort(spec)) {
        const key = `${port.target}/${port.protocol}`;
        ex[key] = {};
        (pb[key] ??= []).push({ HostIp: port.host_ip ?? '', HostPort: port.published ?? '' });
      }
    }
    body.HostConfig.PortBindings = pb;
    body.ExposedPorts = ex;
  }
  if (o.volumes?.length) {
    const mounts = body.HostConfig.Mounts as Array<Record<string, unknown>>;
    for (const v of o.volumes) {
      const m = parseVolumeShort(v, process.cwd(), process.env.HOME ?? '/root');
      const src = m.type === 'volume' && m.source && p.volumes[m.source] ? String(p.volumes[m.source].name) : m.source;
      mounts.push({ Type: m.type, ...(src ? { Source: src } : {}), Target: m.target, ...(m.read_only ? { ReadOnly: true } : {}) });
    }
  }
  const tty = !o.noTty && !!process.stdin.isTTY && !o.detach && s.tty !== false;
  const interactive = o.interactive !== false && !o.detach;
  Object.assign(body, { Tty: tty, OpenStdin: interactive, StdinOnce: interactive, AttachStdin: interactive, AttachStdout: !o.detach, AttachStderr: !o.detach });
  const { Id } = await env.client.containerCreate(body, name);
  for (const n of plan.extraNetworks) await env.client.networkConnect(n.network, { Container: Id, EndpointConfig: n.config });
  if (o.detach) {
    await env.client.containerStart(Id);
    env.out(`${name}\n`);
    return 0;
  }
  const h = await env.client.containerAttach(Id, { stream: '1', stdin: interactive ? '1' : undefined, stdout: '1', stderr: '1' });
  const waited = env.client.containerWait(Id, 'next-exit');
  await waited.registered;
  const pumping = pump(h, { tty, stdin: interactive });
  try {
    await env.client.containerStart(Id);
  } catch (err) {
    h.socket.destroy();
    if (o.rm) await env.client.containerRemove(Id, { force: '1' }).catch(() => undefined);
    throw err;
  }
  const stopResize = tty ? resizer(env, `/containers/${Id}/resize`) : () => undefined;
  const result = await waited.result;
  await Promise.race([pumping, new Promise((r) => setTimeout(r, 2000))]);
  stopResize();
  if (o.rm) await env.client.containerRemove(Id, { force: '1', v: '1' }).catch(() => undefined);
  return result.StatusCode;
}

/** `attach`: the container's output (and stdin unless --no-stdin) until it stops or the user detaches. */
export async function attach(env: ComposeEnv, containerId: string, o: { noStdin?: boolean }): Promise<number> {
  const info = await env.client.containerInspect(containerId);
  const tty = !!info.Config?.Tty;
  const stdin = !o.noStdin && !!info.Config?.OpenStdin;
  const h = await env.client.containerAttach(containerId, { stream: '1', stdin: stdin ? '1' : undefined, stdout: '1', stderr: '1' });
  await pump(h, { tty, stdin });
  const after = await env.client.containerInspect(containerId);
  return after.State?.Running ? 0 : after.State?.ExitCode ?? 0;
}
