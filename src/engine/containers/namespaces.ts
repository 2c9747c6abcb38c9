// --pid, --ipc, --uts, --cgroupns, --device, --device-cgroup-rule as dockerd applies them: the modes are checked
// at create (validateModes, with dockerd's refusals of --isolation, --storage-opt and --gpus, which berth cannot
// honour) and turned into the spec's namespaces and devices at start.
import { readdirSync, realpathSync, statSync, type Stats } from 'fs';
import * as path from 'path';
import { conflict, invalidParameter } from '../../common/errors';
import { parseDeviceCgroupRule, type OciDevice } from '../../runtime/spec';
import type { ContainerRecord } from './types';

const CONTAINER = 'container:';

/** create: dockerd's errors for a mode it does not know (400). */
export function validateModes(h: Record<string, unknown>): void {
  const pid = String(h.PidMode ?? '');
  if (pid && pid !== 'host' && !(pid.startsWith(CONTAINER) && pid.length > CONTAINER.length)) throw invalidParameter(`invalid PID mode: ${pid}`);
  const ipc = String(h.IpcMode ?? '');
  if (ipc.startsWith(CONTAINER)) throw invalidParameter(`invalid IPC mode: ${ipc}: berth does not share one container's IPC namespace with another`);
  if (ipc && !['private', 'shareable', 'none', 'host'].includes(ipc)) throw invalidParameter(`invalid IPC mode: ${ipc}`);
  const uts = String(h.UTSMode ?? '');
  if (uts && uts !== 'host') throw invalidParameter(`invalid UTS mode: ${uts}`);
  for (const rule of (h.DeviceCgroupRules as string[] | null) ?? []) {
    if (!parseDeviceCgroupRule(rule)) throw invalidParameter(`invalid device cgroup rule format: '${rule}'`);
  }
  const cgroupns = String(h.CgroupnsMode ?? '');
  if (cgroupns && cgroupns !== 'host' && cgroupns !== 'private') throw invalidParameter(`invalid cgroup namespace mode: ${cgroupns}`);
  const isolation = String(h.Isolation ?? '');
  if (isolation && isolation !== 'default') throw invalidParameter(`invalid isolation (${isolation}): linux only supports 'default'`);
  // berth's overlay has no quota support (dockerd's needs xfs mounted with pquota)
  if (h.StorageOpt && Object.keys(h.StorageOpt).length) throw invalidParameter("--storage-opt is supported only for overlay over xfs with 'pquota' mount option");
}

/** create: the cgroup namespace mode dockerd records when none is asked for: private on a pure cgroup v2 host. */
export function defaultCgroupnsMode(pureV2: boolean): 'host' | 'private' {
  return pureV2 ? 'private' : 'host';
}

interface DeviceRequest { Driver?: string; Count?: number; DeviceIDs?: string[] | null; Capabilities?: string[][] | null }

/** --gpus and other device requests: berth has no device drivers (dockerd's NVIDIA hook); dockerd's refusal. */
export function refuseDeviceRequests(requests: readonly DeviceRequest[] | null | undefined): void {
  const r = requests?.[0];
  if (!r) return;
  const caps = `[${(r.Capabilities ?? []).map((c) => `[${c.join(' ')}]`).join(' ')}]`;
  throw invalidParameter(`could not select device driver ${JSON.stringify(r.Driver ?? '')} with capabilities: ${caps}`);
}

interface DeviceMapping { PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }

/** The node a host path names, or undefined when it is not a character or block device. */
function deviceAt(st: Stats, inContainer: string, access: string): OciDevice | undefined {
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  // Linux's dev_t: 12 bits of major and 20 of minor, split across the word
  const rdev = BigInt(st.rdev);
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { path: inContainer, type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid, access };
}

/** --device: each mapping's node, or every node under a directory (as dockerd walks it). */
export function resolveDevices(mappings: readonly DeviceMapping[] | null | undefined): OciDevice[] {
  const out: OciDevice[] = [];
  for (const m of mappings ?? []) {
    const onHost = m.PathOnHost ?? '';
    const inContainer = m.PathInContainer || onHost;
    const access = m.CgroupPermissions || 'rwm';
    let resolved = onHost;
    try { resolved = realpathSync(onHost); } catch { /* the stat below says why */ }
    let st: Stats;
    try {
      st = statSync(resolved);
    } catch (err) {
      throw invalidParameter(`error gathering device information while adding custom device "${onHost}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    const node = deviceAt(st, inContainer, access);
    if (node) { out.push(node); continue; }
    const found: OciDevice[] = [];
    if (st.isDirectory()) {
      const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          if (e.isDirectory()) walk(p);
          else if (e.isCharacterDevice() || e.isBlockDevice()) {
            const d = deviceAt(statSync(p), path.join(inContainer, path.relative(resolved, p)), access);
            if (d) found.push(d);
          }
        }
      };
      walk(resolved);
    }
    if (!found.length) throw invalidParameter(`error gathering device information while adding custom device "${onHost}": not a device node`);
    out.push(...found);
  }
  return out;
}

/** What the spec needs for the container's pid, ipc, uts and cgroup modes; `find` looks up a container to join. */
export function namespaceModes(rec: ContainerRecord, find: (ref: string) => ContainerRecord): { pidNamespace?: 'host' | number; ipcMode?: 'host' | 'none'; utsHost?: boolean; cgroupNamespace?: boolean } {
  const h = rec.HostConfig as Record<string, unknown>;
  const pid = String(h.PidMode ?? '');
  const ipc = String(h.IpcMode ?? '');
  let pidNamespace: 'host' | number | undefined;
  if (pid === 'host') pidNamespace = 'host';
  else if (pid.startsWith(CONTAINER)) {
    const target = find(pid.slice(CONTAINER.length));
    if (!(target.State.Pid > 0) || target.State.Status !== 'running') throw conflict(`failed to join PID namespace: container ${target.Id} is not running`);
    pidNamespace = target.State.Pid;
  }
  return {
    ...(pidNamespace !== undefined ? { pidNamespace } : {}),
    ...(ipc === 'host' || ipc === 'none' ? { ipcMode: ipc } : {}),
    ...(h.UTSMode === 'host' ? { utsHost: true } : {}),
    ...(h.CgroupnsMode === 'private' ? { cgroupNamespace: true } : {}),
  };
}
