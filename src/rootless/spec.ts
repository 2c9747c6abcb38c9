// A container's OCI spec adjusted to what root of a user namespace may do (as rootless Docker and Podman do):
// no cgroup settings without a delegated subtree, and mounts the kernel refuses there replaced by binds.
export interface RootlessSpecOptions { privileged: boolean; hostNetwork: boolean; cgroups: boolean }

interface Mount { destination: string; type: string; source: string; options?: string[] }

export function adjustSpecForRootless(spec: Record<string, unknown>, opts: RootlessSpecOptions): void {
  const linux = (spec.linux ?? {}) as Record<string, unknown>;
  if (!opts.cgroups) {
    // no cgroup of our own: the runtime must not try to create one, nor apply device rules (which are cgroup rules)
    delete linux.cgroupsPath;
    delete linux.resources;
  }
  let mounts = (spec.mounts ?? []) as Mount[];
  // sysfs may only be mounted in a network namespace we own; with the daemon's (--network host) it is ours too,
  // but the cgroup v1 hierarchies are not: bind the host's read-only instead of mounting cgroupfs.
  mounts = mounts.map((m) => {
    if (m.destination === '/sys/fs/cgroup' && m.type === 'cgroup' && !opts.cgroups) {
      return { destination: m.destination, type: 'bind', source: '/sys/fs/cgroup', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    return m;
  });
  spec.mounts = mounts;
  spec.linux = linux;
}
