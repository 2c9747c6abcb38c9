// Starting a container: root file system and network (at once), user, working directory, mounts, /etc files,
// the OCI spec and bundle, then berth-shim runs the runtime. A failed start is undone step by step, and leaves
// the error (with docker's 126/127/128 exit code) in the record; a --rm container that cannot start is removed.
import { promises as fs, statSync, existsSync, rmSync, mkdirSync } from 'fs';
import { conflict, EngineError, invalidParameter, notModified, systemError, errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import { writeFileAtomic } from '../../common/atomic';
import { failpoint } from '../../common/failpoint';
import { buildSpec, containerSeccomp } from '../../runtime/spec';
import { parseSecurityOpt } from './security-opt';
import { namespaceModes, refuseDeviceRequests, resolveDevices } from './namespaces';
import { seccompBpf } from '../../runtime/seccomp';
import { mountOverlay, unmountOverlay } from '../../runtime/rootfs';
import { resolveUser } from '../../runtime/user';
import { processEnv } from '../../runtime/env';
import { Shim } from '../../runtime/shim';
import { killShim, shimPidOf } from '../../runtime/leftovers';
import { nowIso, type EngineCore } from './core';
import { mergeEnv, commandLine } from './create';
import { parseLink, linkEnv, resolveLinks } from './links';
import { writeEtcFiles } from './etcfiles';
import { ociResources } from './resources';
import { setupNetwork } from './endpoints';
import { removeLocked } from './remove';
import type { ExitHandling } from './exit';
import type { ContainerRecord } from './types';

const INIT_PATH = '/sbin/docker-init';
function initBinary(): string {
  // Static, so it runs in any image (busybox has no libc); Debian's tini package ships both.
  const found = ['/usr/bin/tini-static', '/usr/bin/catatonit'].find((p) => existsSync(p));
  if (!found) throw invalidParameter('--init needs an init binary: install the Debian package tini');
  return found;
}

function isPresentButNotExecutable(file: string): boolean {
  try {
    const st = statSync(file);
    return st.isDirectory() || (st.mode & 0o111) === 0;
  } catch {
    return false;
  }
}

export function start(core: EngineCore, exits: ExitHandling, ref: string): Promise<void> {
  const rec = core.store.get(ref);
  return core.serialize(rec.Id, () => {
    rec.StoppedByUser = false; // the user starts it: restart policies apply again
    return startLocked(core, exits, rec);
  });
}

/** A start by a restart policy: decided under the container's lock, so a stop or rm that came first wins. */
export function restartByPolicy(core: EngineCore, exits: ExitHandling, rec: ContainerRecord): Promise<void> {
  return core.serialize(rec.Id, async () => {
    if (!core.store.tryGet(rec.Id) || rec.StoppedByUser || (rec.State.Status !== 'exited' && rec.State.Status !== 'restarting')) return;
    rec.RestartCount++;
    await startLocked(core, exits, rec);
  });
}

async function startLocked(core: EngineCore, exits: ExitHandling, rec: ContainerRecord): Promise<void> {
  if (rec.State.Status === 'paused') throw conflict('cannot start a paused container, try unpause instead');
  if (rec.State.Status === 'running') throw notModified();
  if (rec.State.Status === 'removing') throw conflict(`container is marked for removal and cannot be started`);
  const lowerDirs = core.lowerDirs(rec);
  const rootfs = core.paths.rootfs(rec.Id);
  const driver = core.safeDriver(rec.Runtime);
  const undo: Array<() => Promise<unknown>> = [];
  const live = core.liveOf(rec.Id);
  core.released.delete(rec.Id);
  const t0 = process.hrtime.bigint();
  const mark = (step: string) => log.debug('start step', { id: rec.Id.slice(0, 12), step, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
  try {
    // (in here: a refused start, like any failed one, removes a --rm container, which its waiters see)
    refuseDeviceRequests(rec.HostConfig.DeviceRequests as Parameters<typeof refuseDeviceRequests>[0]);
    // The rootfs and the network do not depend on each other: set both up at once.
    const [mounted, networked] = await Promise.allSettled([mountOverlay(lowerDirs, rootfs), setupNetwork(core, rec)]);
    // a cp or export may hold the mount (it was there before): then it stays
    if (mounted.status === 'fulfilled') undo.push(async () => { if (!core.rootfsHolds.has(rec.Id)) await unmountOverlay(rootfs); });
    const net = networked.status === 'fulfilled' ? networked.value : undefined;
    const attachment = net?.attachment;
    if (attachment) undo.push(() => core.network.detach(rec.Id, attachment));
    if (mounted.status === 'rejected') throw mounted.reason;
    if (networked.status === 'rejected') throw networked.reason;
    const { netnsPath, joinPid } = net!;
    mark('rootfs+network');
    await failpoint('container.start.after-rootfs');

    const user = await resolveUser(rootfs.merged, rec.Config.User, (rec.HostConfig.GroupAdd as string[] | null) ?? []);
    const linked = linkedContainers(core, rec);
    const cwd = rec.Config.WorkingDir || '/';
    if (cwd !== '/') await ensureDir(rootfs.merged, cwd);
    undo.push(() => core.mounts.release(rec));
    const userMounts = await core.mounts.setup(rec, rootfs.merged);
    mark('mounts');
    const hostNet = rec.HostConfig.NetworkMode === 'host';
    await writeEtcFiles({ hosts: core.paths.hosts(rec.Id), hostname: core.paths.hostname(rec.Id), resolvConf: core.paths.resolvConf(rec.Id) },
      rec.Config.Hostname, attachment?.ipAddress, hostNet,
      [...(rec.HostConfig.ExtraHosts as string[] | null) ?? [], ...linked.map(({ link, target }) => `${link.alias} ${target.name}:${target.ip}`)], attachment?.dnsServer,
      { servers: rec.HostConfig.Dns, search: rec.HostConfig.DnsSearch as string[] | null, options: rec.HostConfig.DnsOptions as string[] | null });

    const security = parseSecurityOpt(rec.HostConfig.SecurityOpt as string[] | null);
    const secInput = {
      capAdd: rec.HostConfig.CapAdd ?? [], capDrop: rec.HostConfig.CapDrop ?? [], privileged: rec.HostConfig.Privileged,
      ...(security.seccomp === 'unconfined' ? { seccompUnconfined: true } : security.seccomp !== 'default' ? { seccompJson: security.seccomp } : {}),
    };
    const profile = containerSeccomp(secInput);
    const seccompBpfData = profile && driver.info.name === 'crun' ? await seccompBpf(profile) : undefined;
    const spec = buildSpec({
      seccomp: profile ?? null, seccompBpf: seccompBpfData,
      rootfs: rootfs.merged, readonlyRootfs: rec.HostConfig.ReadonlyRootfs,
      args: rec.HostConfig.Init ? [INIT_PATH, '--', ...commandLine(rec.Config)] : commandLine(rec.Config),
      env: processEnv(mergeEnv(linked.flatMap(({ link, target }) => linkEnv(rec.Name, link, target)), rec.Config.Env), { tty: rec.Config.Tty, home: user.home, hostname: rec.Config.Hostname }), cwd, user,
      terminal: rec.Config.Tty, hostname: hostNet ? (await import('os')).hostname() : rec.Config.Hostname,
      netnsPath: hostNet ? null : netnsPath, joinPid,
      ...secInput, noNewPrivileges: security.noNewPrivileges,
      ...namespaceModes(rec, (ref) => core.store.get(ref)),
      annotations: (rec.HostConfig.Annotations as Record<string, string> | null) ?? undefined,
      devices: resolveDevices(rec.HostConfig.Devices as Parameters<typeof resolveDevices>[0]),
      deviceCgroupRules: (rec.HostConfig.DeviceCgroupRules as string[] | null) ?? undefined,
      oomScoreAdj: (rec.HostConfig.OomScoreAdj as number | undefined) ?? 0,
      maskedPaths: (rec.HostConfig.MaskedPaths as string[] | null) ?? undefined,
      readonlyPaths: (rec.HostConfig.ReadonlyPaths as string[] | null) ?? undefined,
      cgroupsPath: core.cgroupPath(rec), shmSize: rec.HostConfig.ShmSize, resources: ociResources(rec.HostConfig),
      etcFiles: [
        { destination: '/etc/hostname', source: core.paths.hostname(rec.Id) },
        { destination: '/etc/hosts', source: core.paths.hosts(rec.Id) },
        { destination: '/etc/resolv.conf', source: core.paths.resolvConf(rec.Id) },
        // --init: Debian's static tini as PID 1 (reaps zombies, forwards signals), where Docker puts its init.
        ...(rec.HostConfig.Init ? [{ destination: INIT_PATH, source: initBinary() }] : []),
      ],
      mounts: userMounts.binds,
      tmpfs: userMounts.tmpfs,
      ulimits: rec.HostConfig.Ulimits ?? undefined,
      sysctl: rec.HostConfig.Sysctls ?? undefined,
    });
    core.opts.rootless?.adjustSpec(spec, { privileged: rec.HostConfig.Privileged, hostNetwork: hostNet });
    const bundle = core.paths.bundle(rec.Id);
    // tmpfs, a few small files: synchronous calls, where each asynchronous one costs a thread-pool round trip
    rmSync(bundle, { recursive: true, force: true });
    rmSync(core.paths.shimState(rec.Id), { recursive: true, force: true }); // a previous run's exit.json
    mkdirSync(bundle, { recursive: true, mode: 0o700 });
    await writeFileAtomic(`${bundle}/config.json`, JSON.stringify(spec), 0o600, false); // tmpfs, rebuilt every start
    undo.push(() => driver.delete(rec.Id));
    mark('spec');

    const shim = await Shim.spawn({
      runtimePath: driver.execPath, runtimeRoot: driver.root, id: rec.Id, bundle, stateDir: core.paths.shimState(rec.Id),
      tty: rec.Config.Tty, stdin: rec.Config.OpenStdin, stdinOnce: rec.Config.StdinOnce && !rec.Config.Tty,
      logPath: (rec.HostConfig.LogConfig as { Type?: string } | undefined)?.Type === 'none' ? undefined : core.paths.log(rec.Id),
      run: true,
    }).catch((err) => { throw runtimeError(err, rootfs.merged); });
    // Fault "error after the shim was spawned": closing our connection alone left the shim (and a started
    // process) running with no owner; the shim goes with the failed start.
    undo.push(async () => {
      shim.close();
      const shimPid = await shimPidOf(core.paths.shimState(rec.Id));
      if (shimPid) await killShim(shimPid);
    });
    live.shim = shim;
    mark('shim-create');
    await failpoint('container.start.after-shim');
    // Clients that attached before start must see the very first output.
    for (const join of live.pendingAttach.splice(0)) join(shim);
    const pid = await shim.start().catch((err) => { throw runtimeError(err, rootfs.merged, rec.Path); });

    mark('shim-start');
    await failpoint('container.start.after-run');
    rec.Network = attachment;
    rec.State = { ...rec.State, Status: 'running', Pid: pid, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: nowIso(), FinishedAt: rec.State.FinishedAt };
    await core.store.save(rec);
    mark('record');
    exits.watch(rec, shim);
    core.event(rec, 'start');
  } catch (err) {
    live.shim = undefined;
    for (const step of undo.reverse()) await step().catch((e) => log.warn('rollback step failed', { id: rec.Id, error: errorMessage(e) }));
    const e = err instanceof EngineError ? err : systemError(errorMessage(err));
    rec.State = { ...rec.State, Error: e.message, ExitCode: /executable file not found|no such file/i.test(e.message) ? 127 : /permission denied/i.test(e.message) ? 126 : 128 };
    await core.store.save(rec).catch(() => undefined);
    // Like dockerd: a --rm container that cannot start is removed (its waiters for "removed" return).
    if (rec.HostConfig.AutoRemove) await removeLocked(core, rec, { force: true, volumes: true }).catch(() => undefined);
    throw e;
  }
}

/** The running containers this one links to (HostConfig.Links), with what its environment and hosts need. */
function linkedContainers(core: EngineCore, rec: ContainerRecord): ReturnType<typeof resolveLinks> {
  const links = ((rec.HostConfig.Links as string[] | null) ?? []).map(parseLink);
  if (!links.length) return [];
  const get = (name: string) => {
    const t = core.store.tryGet(name);
    return t && { name: t.Name.slice(1), ip: t.Network?.ipAddress ?? '', env: t.Config.Env, exposedPorts: Object.keys(t.Config.ExposedPorts ?? {}) };
  };
  return resolveLinks(links, get, (name) => core.store.tryGet(name)?.State.Status === 'running');
}

/** Runtime failures phrased the way Docker reports them, so clients map them to 126/127 as with Docker. */
function runtimeError(err: unknown, rootfs?: string, command?: string): EngineError {
  const msg = errorMessage(err);
  // `crun run` reports a path it cannot execute (a directory, no x bit) as "open executable: …".
  if (command && /open executable: (Operation not permitted|Permission denied|Is a directory)/i.test(msg)) {
    return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${command}": permission denied: unknown`);
  }
  const exe = /executable file `([^`]*)` not found|exec: "([^"]*)": executable file not found|`([^`]*)`: No such file or directory/.exec(msg);
  if (exe) {
    const name = exe[1] ?? exe[2] ?? exe[3];
    // crun says "not found" for a path that exists but cannot be executed (a directory, no x bit);
    // Docker reports that as permission denied (exit 126), so look for ourselves.
    if (rootfs && name.includes('/') && isPresentButNotExecutable(`${rootfs}/${name}`)) {
      return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${name}": permission denied: unknown`);
    }
    return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${name}": executable file not found in $PATH: unknown`);
  }
  const perm = /(?:open|exec|execute)[^`"]*[`"]([^`"]*)[`"][^:]*: (?:Permission denied|Is a directory)/i.exec(msg) ?? /(?:open|exec|execute)\s*`?([^`:]*)`?: (?:Permission denied|Is a directory)/i.exec(msg);
  if (perm) return new EngineError(400, `failed to create task for container: OCI runtime create failed: exec: "${perm[1]}": permission denied: unknown`);
  return systemError(`failed to create task for container: OCI runtime create failed: ${msg.trim()}: unknown`);
}

async function ensureDir(root: string, dir: string): Promise<void> {
  // Created through the merged overlay; refuse to follow a symlink out of the rootfs.
  const parts = dir.split('/').filter((p) => p && p !== '.' && p !== '..');
  let cur = root;
  for (const p of parts) {
    cur = `${cur}/${p}`;
    const st = await fs.lstat(cur).catch(() => undefined);
    if (!st) await fs.mkdir(cur, { mode: 0o755 });
    else if (st.isSymbolicLink()) return; // the runtime resolves it inside the container
    // dockerd's words (container.SetupWorkingDirectory), for the directory asked for or a file on its way
    else if (!st.isDirectory()) throw systemError(`Cannot mkdir: ${dir} is not a directory`);
  }
}
