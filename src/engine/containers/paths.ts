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
  // Shim sockets live here: unix socket paths are limited to 108 bytes, so these paths stay short
  // (16 hex digits of an id are unique enough among one daemon's containers).
  shimState(id: string) { return path.join(this.execRoot, 'shim', id.slice(0, 16)); }
  execState(id: string, execId: string) { return path.join(this.execRoot, 'shim', `${id.slice(0, 16)}-${execId.slice(0, 16)}`); }
}
