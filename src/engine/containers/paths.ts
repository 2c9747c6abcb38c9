// Where a container's files live. Persistent state under the data root; runtime state (bundle, shim
// sockets) under the exec root, which is a tmpfs that a reboot empties.
import * as path from 'path';

export class ContainerPaths {
  constructor(readonly dataRoot: string, readonly execRoot: string) {}
  dir(id: string) { return path.join(this.dataRoot, 'containers', id); }
  log(id: string) { return path.join(this.dir(id), `${id}-json.log`); }
  hosts(id: string) { return path.join(this.dir(id), 'hosts'); }
  hostname(id: string) { return path.join(this.dir(id), 'hostname'); }
  resolvConf(id: string) { return path.join(this.dir(id), 'resolv.conf'); }
  rootfs(id: string) {
    const d = this.dir(id);
    return { upper: path.join(d, 'diff'), work: path.join(d, 'work'), merged: path.join(d, 'merged') };
  }
  bundle(id: string) { return path.join(this.execRoot, 'containers', id); }
  shimState(id: string) { return path.join(this.bundle(id), 'shim'); }
  execState(id: string, execId: string) { return path.join(this.bundle(id), 'exec', execId); }
}
