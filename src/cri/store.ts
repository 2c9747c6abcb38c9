// The CRI server's records: one atomic JSON file per pod sandbox and per container under <dataRoot>/cri/, held in
// memory (lookups never touch the disk) and written before a call that changed them returns.
import { promises as fs } from 'fs';
import * as path from 'path';
import { readJson, writeJsonAtomic } from '../common/atomic';
import { log } from '../common/log';
import { errorMessage } from '../common/errors';
import type { ContainerConfig, LinuxContainerResources, PodSandboxConfig } from './types';
import { notFound } from './errors';

/** What CNI set up for a pod: enough to tear it down exactly (DEL with the same ids and the cached result). */
export interface CniState {
  network: string;
  /** the conflist as it was used (DEL must see the same) */
  confList: Record<string, unknown>;
  containerId: string;
  ifName: string;
  /** the plugins that ADD ran, in order (DEL runs these in reverse) */
  added: number;
  result?: Record<string, unknown>;
  args: string;
  portMappings: Array<{ hostPort: number; containerPort: number; protocol: string; hostIP: string }>;
}

export interface PodRecord {
  id: string;
  config: PodSandboxConfig;
  runtimeHandler: string;
  /** nanoseconds since the epoch, as text (int64) */
  createdAt: string;
  state: 'ready' | 'notready';
  hostNetwork: boolean;
  /** the bind-mounted network namespace (absent with the host's network) */
  netns?: string;
  ip?: string;
  additionalIps?: string[];
  cni?: CniState;
  /** the pause process on the host, 0 once it exited */
  pausePid: number;
  /** cgroup of the pod (parent of its containers' cgroups), and whether berth made it */
  cgroupParent: string;
  ownCgroupParent: boolean;
  /** set once the pod's sandbox files (/dev/shm mount) exist */
  shm?: string;
}

export interface ContainerRecord {
  id: string;
  podId: string;
  config: ContainerConfig;
  /** image id (sha256:…) and the name as asked for */
  imageId: string;
  imageName: string;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  state: 'created' | 'running' | 'exited';
  pid: number;
  exitCode: number;
  reason: string;
  message: string;
  /** full path of the CRI log ('' without one) */
  logPath: string;
  /** the chain ids the rootfs is made of (kept valid if the image is removed meanwhile) */
  layers: string[];
  /** the process section of the spec it was started with (exec reuses it) */
  process?: Record<string, unknown>;
  /** resources as last applied (UpdateContainerResources) */
  resources?: LinuxContainerResources | null;
}

export class CriStore {
  readonly pods = new Map<string, PodRecord>();
  readonly containers = new Map<string, ContainerRecord>();

  constructor(readonly root: string) {}

  private podFile(id: string) { return path.join(this.root, 'pods', `${id}.json`); }
  private containerFile(id: string) { return path.join(this.root, 'containers', `${id}.json`); }

  async load(): Promise<void> {
    for (const kind of ['pods', 'containers'] as const) {
      const dir = path.join(this.root, kind);
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      for (const name of await fs.readdir(dir)) {
        if (!name.endsWith('.json')) continue;
        try {
          const rec = await readJson<PodRecord | ContainerRecord>(path.join(dir, name));
          if (!rec) continue;
          if (kind === 'pods') this.pods.set(rec.id, rec as PodRecord); else this.containers.set(rec.id, rec as ContainerRecord);
        } catch (err) {
          log.error('skipping unreadable CRI record', { file: name, error: errorMessage(err) });
        }
      }
    }
  }

  async savePod(p: PodRecord): Promise<void> {
    await writeJsonAtomic(this.podFile(p.id), p);
    this.pods.set(p.id, p);
  }

  async saveContainer(c: ContainerRecord): Promise<void> {
    await writeJsonAtomic(this.containerFile(c.id), c);
    this.containers.set(c.id, c);
  }

  async removePod(id: string): Promise<void> {
    this.pods.delete(id);
    await fs.rm(this.podFile(id), { force: true });
  }

  async removeContainer(id: string): Promise<void> {
    this.containers.delete(id);
    await fs.rm(this.containerFile(id), { force: true });
  }

  /** By full id or unique prefix (crictl accepts prefixes); undefined when none or ambiguous. */
  findPod(ref: string): PodRecord | undefined { return findByPrefix(this.pods, ref); }
  findContainer(ref: string): ContainerRecord | undefined { return findByPrefix(this.containers, ref); }

  pod(ref: string): PodRecord {
    const p = this.findPod(ref);
    if (!p) throw notFound(`an error occurred when try to find sandbox "${ref}": not found`);
    return p;
  }

  container(ref: string): ContainerRecord {
    const c = this.findContainer(ref);
    if (!c) throw notFound(`an error occurred when try to find container "${ref}": not found`);
    return c;
  }

  containersOf(podId: string): ContainerRecord[] {
    return [...this.containers.values()].filter((c) => c.podId === podId);
  }
}

function findByPrefix<T>(map: Map<string, T>, ref: string): T | undefined {
  if (!ref) return undefined;
  const exact = map.get(ref);
  if (exact) return exact;
  if (!/^[0-9a-f]+$/.test(ref)) return undefined;
  let found: T | undefined;
  for (const [id, v] of map) {
    if (!id.startsWith(ref)) continue;
    if (found) return undefined;
    found = v;
  }
  return found;
}
