// A CRI container's OCI spec: runtime/'s Docker-default spec (capabilities, masked paths, seccomp, mounts) with
// the CRI's settings on top — the pod's namespaces joined through its pause process, the security context
// (users and groups, capabilities, privileged, read-only root, no_new_privs, seccomp RuntimeDefault/Unconfined/
// Localhost, masked and read-only paths), the pod's sysctls, binds with their propagation, devices and limits.
import { promises as fs, readFileSync } from 'fs';
import * as path from 'path';
import {
  buildSpec, containerSeccomp, seccompBpf, processEnv, resolveUser, hostSupport, type OciMount, type OciResources, type ResolvedUser,
} from '../runtime';
import type { ImageRunConfig } from '../storage';
import type { CriLayout } from './context';
import type { ContainerRecord, PodRecord } from './store';
import { invalidArgument, notFound } from './errors';
import { namespaceOptions } from './pods';
import { NamespaceMode, ProfileType, Propagation, type ContainerConfig, type LinuxContainerResources, type SecurityProfile } from './types';

/** The command line: CRI `command` replaces the image's Entrypoint (and then its Cmd), `args` its Cmd. */
export function commandLine(cfg: ContainerConfig, image: ImageRunConfig): string[] {
  const command = cfg.command ?? [];
  const args = cfg.args ?? [];
  if (command.length) return [...command, ...args];
  return [...(image.Entrypoint ?? []), ...(args.length ? args : image.Cmd ?? [])];
}

/** The image's environment with the container's variables over it. */
export function environment(cfg: ContainerConfig, image: ImageRunConfig): string[] {
  const env = new Map<string, string>();
  for (const e of image.Env ?? []) { const i = e.indexOf('='); env.set(i < 0 ? e : e.slice(0, i), e); }
  for (const kv of cfg.envs ?? []) env.set(kv.key, `${kv.key}=${kv.value}`);
  return [...env.values()];
}

/** Which user the process runs as, with what groups (the security context over the image's USER). */
export async function processUser(cfg: ContainerConfig, image: ImageRunConfig, rootfs: string): Promise<ResolvedUser> {
  const sc = cfg.linux?.security_context;
  let spec = image.User ?? '';
  if (sc?.run_as_username) spec = sc.run_as_username;
  else if (sc?.run_as_user) spec = String(sc.run_as_user.value);
  if (sc?.run_as_group) spec = `${spec.split(':')[0] || '0'}:${sc.run_as_group.value}`;
  let user: ResolvedUser;
  try {
    user = await resolveUser(rootfs, spec || '0');
  } catch (err) {
    throw invalidArgument((err as Error).message);
  }
  // The image's groups of that user also apply with an explicit group (resolveUser leaves them out then).
  if (sc?.run_as_group && !user.additionalGids.length) {
    const base = await resolveUser(rootfs, spec.split(':')[0] || '0').catch(() => undefined);
    if (base) user.additionalGids = base.additionalGids.filter((g) => g !== user.gid);
  }
  const extra = (sc?.supplemental_groups ?? []).map(Number).filter((g) => Number.isInteger(g) && g >= 0);
  user.additionalGids = [...new Set([...user.additionalGids, ...extra])];
  return user;
}

/** Mount options of a CRI propagation mode. */
const propagationOption = (p: Propagation) =>
  p === Propagation.BIDIRECTIONAL ? 'rshared' : p === Propagation.HOST_TO_CONTAINER ? 'rslave' : 'rprivate';

/** The container's binds: host paths resolved (a symlinked source is followed, a missing one made a directory). */
export async function containerMounts(cfg: ContainerConfig): Promise<OciMount[]> {
  const out: OciMount[] = [];
  for (const m of cfg.mounts ?? []) {
    if (!m.container_path || !path.isAbsolute(m.container_path)) throw invalidArgument(`mount container path ${JSON.stringify(m.container_path)} must be absolute`);
    if (!m.host_path || !path.isAbsolute(m.host_path)) throw invalidArgument(`mount host path ${JSON.stringify(m.host_path)} must be absolute`);
    let source: string;
    try {
      source = await fs.realpath(m.host_path);
    } catch {
      await fs.mkdir(m.host_path, { recursive: true, mode: 0o755 });
      source = await fs.realpath(m.host_path);
    }
    out.push({ destination: path.normalize(m.container_path), type: 'bind', source, options: ['rbind', propagationOption(m.propagation), m.readonly ? 'ro' : 'rw'] });
  }
  return out;
}

/** The seccomp profile to apply: undefined for none (privileged, Unconfined, or no profile asked for). */
export function seccompChoice(profile: SecurityProfile | null | undefined, legacyPath: string | undefined): { kind: 'none' } | { kind: 'default' } | { kind: 'localhost'; path: string } {
  if (profile) {
    if (profile.profile_type === ProfileType.Unconfined) return { kind: 'none' };
    if (profile.profile_type === ProfileType.Localhost) {
      const ref = profile.localhost_ref.replace(/^localhost\//, '');
      if (!path.isAbsolute(ref)) throw invalidArgument(`seccomp localhost profile ${JSON.stringify(profile.localhost_ref)} must be an absolute path`);
      return { kind: 'localhost', path: ref };
    }
    return { kind: 'default' };
  }
  if (legacyPath) {
    if (legacyPath === 'unconfined') return { kind: 'none' };
    if (legacyPath === 'runtime/default' || legacyPath === 'docker/default') return { kind: 'default' };
    if (legacyPath.startsWith('localhost/')) return { kind: 'localhost', path: legacyPath.slice('localhost/'.length) };
    throw invalidArgument(`unsupported seccomp profile ${JSON.stringify(legacyPath)}`);
  }
  return { kind: 'none' }; // the CRI's nil profile is unconfined (containerd's default)
}

/** CRI resources → linux.resources (what the host cannot enforce is left out, as Docker and containerd do). */
export function ociResources(r: LinuxContainerResources | null | undefined): OciResources | undefined {
  if (!r) return undefined;
  const host = hostSupport();
  const n = (v: unknown) => Number(v) || 0; // int64 fields arrive as text
  const out: OciResources = {};
  const memory = n(r.memory_limit_in_bytes);
  if (memory > 0 && host.memory) {
    out.memory = { limit: memory };
    const swap = n(r.memory_swap_limit_in_bytes);
    if (swap > 0 && host.swap) out.memory.swap = Math.max(swap, memory);
  }
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (n(r.cpu_shares) > 0 && host.cpuShares) cpu.shares = n(r.cpu_shares);
  if (n(r.cpu_quota) > 0 && host.cpuCfs) cpu.quota = n(r.cpu_quota);
  if (n(r.cpu_period) > 0 && host.cpuCfs) cpu.period = n(r.cpu_period);
  if (r.cpuset_cpus && host.cpuset) cpu.cpus = r.cpuset_cpus;
  if (r.cpuset_mems && host.cpuset) cpu.mems = r.cpuset_mems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  return Object.keys(out).length ? out : undefined;
}

let ownOomScoreAdj: number | undefined;
/** Lower values than the daemon's own need CAP_SYS_RESOURCE, which this host may withhold: clamp to ours. */
function oomScoreAdj(wanted: number): number {
  ownOomScoreAdj ??= parseInt(readFileSync('/proc/self/oom_score_adj', 'utf8'), 10) || 0;
  return Math.min(1000, Math.max(wanted, ownOomScoreAdj));
}

export interface BuiltSpec { spec: Record<string, unknown>; process: Record<string, unknown> }

/** The OCI spec of a container about to start; `rootfs` is its mounted root. */
export async function containerSpec(layout: CriLayout, pod: PodRecord, c: ContainerRecord, image: ImageRunConfig, rootfs: string): Promise<BuiltSpec> {
  const cfg = c.config;
  const sc = cfg.linux?.security_context;
  const privileged = !!sc?.privileged;
  if (privileged && !pod.config.linux?.security_context?.privileged) {
    throw invalidArgument('no privileged container allowed in sandbox');
  }
  const podNs = namespaceOptions(pod.config);
  const ctrNs = sc?.namespace_options ?? null;
  const pidMode = ctrNs ? ctrNs.pid : podNs.pid;
  const user = await processUser(cfg, image, rootfs);
  const cwd = cfg.working_dir || image.WorkingDir || '/';
  const args = commandLine(cfg, image);
  const binds = await containerMounts(cfg);
  const sandbox = layout.sandboxDir(pod.id);
  const has = (dest: string) => binds.some((m) => m.destination === dest);
  const etcFiles = [
    { destination: '/etc/hostname', source: path.join(sandbox, 'hostname') },
    { destination: '/etc/hosts', source: path.join(sandbox, 'hosts') },
    { destination: '/etc/resolv.conf', source: path.join(sandbox, 'resolv.conf') },
  ].filter((f) => !has(f.destination));
  if (!has('/dev/shm')) {
    const shm = podNs.ipc === NamespaceMode.NODE ? '/dev/shm' : pod.shm;
    if (shm) binds.push({ destination: '/dev/shm', type: 'bind', source: shm, options: ['rbind', 'rprivate', 'rw'] });
  }
  const capAdd = sc?.capabilities?.add_capabilities ?? [];
  const capDrop = sc?.capabilities?.drop_capabilities ?? [];
  const choice = privileged ? { kind: 'none' as const } : seccompChoice(sc?.seccomp, sc?.seccomp_profile_path);
  if (choice.kind === 'localhost') {
    try { await fs.access(choice.path); } catch { throw notFound(`failed to load seccomp profile ${JSON.stringify(choice.path)}: no such file`); }
  }
  const seccompIn = { capAdd, capDrop, privileged, ...(choice.kind === 'localhost' ? { seccompProfile: choice.path } : {}) };
  let profile;
  try {
    profile = choice.kind === 'none' ? undefined : containerSeccomp(seccompIn);
  } catch (err) {
    throw invalidArgument(`failed to load seccomp profile: ${(err as Error).message}`);
  }
  const sysctls = pod.config.linux?.sysctls ?? {};
  const spec = buildSpec({
    rootfs, readonlyRootfs: !!sc?.readonly_rootfs, args,
    env: processEnv(environment(cfg, image), { tty: cfg.tty, home: user.home }), cwd, user,
    terminal: cfg.tty, hostname: '', netnsPath: pod.hostNetwork ? null : pod.netns,
    ...seccompIn, seccomp: profile ?? null, seccompBpf: profile ? await seccompBpf(profile) : undefined,
    noNewPrivileges: !!sc?.no_new_privs,
    cgroupsPath: `${pod.cgroupParent}/${c.id}`, etcFiles, mounts: binds,
    resources: ociResources(c.resources ?? cfg.linux?.resources),
    sysctl: Object.keys(sysctls).length ? sysctls : undefined,
  });
  const linux = spec.linux as Record<string, unknown> & { namespaces: Array<{ type: string; path?: string }>; resources: Record<string, unknown> };
  if (!profile) {
    delete linux.seccomp;
    delete (spec as { annotations?: unknown }).annotations;
  }
  // The pod's namespaces, joined through its pause process; a new PID namespace only for CONTAINER.
  const pause = pod.pausePid;
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  if (!pod.hostNetwork) namespaces.push({ type: 'network', path: pod.netns! }, { type: 'uts', path: `/proc/${pause}/ns/uts` });
  if (podNs.ipc !== NamespaceMode.NODE) namespaces.push({ type: 'ipc', path: `/proc/${pause}/ns/ipc` });
  if (pidMode === NamespaceMode.CONTAINER) namespaces.push({ type: 'pid' });
  else if (pidMode === NamespaceMode.POD && podNs.pid === NamespaceMode.POD) namespaces.push({ type: 'pid', path: `/proc/${pause}/ns/pid` });
  else if (pidMode === NamespaceMode.POD) namespaces.push({ type: 'pid' });
  linux.namespaces = namespaces;
  delete spec.hostname; // the pod's UTS namespace (or the host's) already has it
  if (!privileged) {
    if (sc?.masked_paths?.length) linux.maskedPaths = sc.masked_paths;
    if (sc?.readonly_paths?.length) linux.readonlyPaths = sc.readonly_paths;
  }
  const proc = spec.process as Record<string, unknown>;
  const oom = cfg.linux?.resources?.oom_score_adj;
  proc.oomScoreAdj = oomScoreAdj(Number(oom) || 0);
  await addDevices(spec, cfg);
  return { spec, process: proc };
}

/** CRI devices: the host's device node, under its container path, with the cgroup rule allowing it. */
async function addDevices(spec: Record<string, unknown>, cfg: ContainerConfig): Promise<void> {
  const linux = spec.linux as { devices?: unknown[]; resources: { devices?: unknown[] } };
  for (const d of cfg.devices ?? []) {
    let st;
    try { st = await fs.stat(d.host_path); } catch { throw invalidArgument(`device ${JSON.stringify(d.host_path)} does not exist`); }
    const type = st.isBlockDevice() ? 'b' : st.isCharacterDevice() ? 'c' : undefined;
    if (!type) throw invalidArgument(`${d.host_path} is not a device node`);
    const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
    const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
    (linux.devices ??= []).push({ path: d.container_path || d.host_path, type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    (linux.resources.devices ??= []).push({ allow: true, type, major, minor, access: d.permissions || 'rwm' });
  }
}
