// What every part of the CRI server shares: where its files live, the stores and the layers below it.
import * as path from 'path';
import type { ImageStore } from '../storage';
import type { RuntimeDriver, Shim } from '../runtime';
import type { Cni } from './cni';
import type { CriStore } from './store';
import type { CriEvents } from './events';

export interface CriPaths {
  /** <dataRoot>/cri: records, sandbox files, container root file systems */
  data: string;
  /** <execRoot>/cri: bundles, shim state, network namespaces (tmpfs: gone at reboot, like the processes) */
  exec: string;
}

export class CriLayout {
  constructor(readonly p: CriPaths) {}
  sandboxDir(podId: string) { return path.join(this.p.data, 'sandboxes', podId); }
  netns(podId: string) { return path.join(this.p.exec, 'netns', podId.slice(0, 16)); }
  shm(podId: string) { return path.join(this.p.exec, 'shm', podId.slice(0, 16)); }
  bundle(id: string) { return path.join(this.p.exec, 'bundles', id); }
  // unix socket paths are limited to 108 bytes: short names under the state dir
  shimState(id: string) { return path.join(this.p.exec, 's', id.slice(0, 16)); }
  execState(id: string, execId: string) { return path.join(this.p.exec, 's', `${id.slice(0, 12)}-${execId.slice(0, 12)}`); }
  rootfs(id: string) {
    const dir = path.join(this.p.data, 'rootfs', id);
    return { upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged') };
  }
  rootfsDir(id: string) { return path.join(this.p.data, 'rootfs', id); }
  pauseRoot() { return path.join(this.p.data, 'pause-root'); }
}

export interface CriContext {
  layout: CriLayout;
  store: CriStore;
  images: ImageStore;
  driver: RuntimeDriver;
  cni: Cni;
  events: CriEvents;
  /** running shims by pod or container id */
  shims: Map<string, Shim>;
  /** the cgroup under which pods without a kubelet-given cgroup_parent go (default /berth-cri): one per daemon, so
   *  two daemons on a host never take each other's pod cgroups for their own */
  cgroupRoot: string;
}
