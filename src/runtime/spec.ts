// OCI runtime spec (config.json) generation with Docker's defaults: capabilities, masked and
// read-only paths, mounts, namespaces, device rules and the default seccomp profile.
import { existsSync, readFileSync } from 'fs';
import { seccompFor, seccompFromJson, OciSeccomp } from './seccomp';
import { parseCpuList, type OciResources } from './cgroups';

export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/proc/interrupts', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

let maskedPathsCache: string[] | undefined;
/**
 * Docker's masked paths on this host: the fixed list, and each possible CPU's thermal_throttle directory where
 * the host has one (its counters leak the host's load to a container; moby GHSA-6fw5-f8r9-fgfm). Read once.
 */
export function defaultMaskedPaths(): string[] {
  if (!maskedPathsCache) {
    let cpus: number[] = [];
    try { cpus = [...parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim())]; } catch { /* none to add */ }
    const throttles = cpus.map((c) => `/sys/devices/system/cpu/cpu${c}/thermal_throttle`).filter((p) => existsSync(p));
    maskedPathsCache = [...MASKED_PATHS, ...throttles];
  }
  return maskedPathsCache;
}

export interface ProcessUser { uid: number; gid: number; additionalGids: number[] }

export interface OciMount { destination: string; type: string; source: string; options: string[] }

export interface SpecInput {
  rootfs: string;
  readonlyRootfs?: boolean;
  args: string[];
  env: string[];
  cwd: string;
  user: ProcessUser;
  terminal: boolean;
  hostname: string;
  /** netns file to join; undefined with a new namespace ('none' handled by caller giving a path too), null to share the host's. */
  netnsPath?: string | null;
  /** join another container's namespaces (network=container:x) by its pid. */
  joinPid?: number;
  /** --pid: 'host' shares the host's pid namespace; a number joins that process's (--pid container:x) */
  pidNamespace?: 'host' | number;
  /** --ipc: 'host' shares the host's namespace and /dev/shm; 'none' is a namespace of its own without /dev/shm */
  ipcMode?: 'host' | 'none';
  /** --uts host: the host's namespace, so no hostname of its own */
  utsHost?: boolean;
  /** --cgroupns private: a cgroup namespace of its own */
  cgroupNamespace?: boolean;
  /** HostConfig.Annotations, handed to the runtime */
  annotations?: Record<string, string>;
  oomScoreAdj?: number;
  /** --device: nodes made in the container, each also allowed in its device cgroup */
  devices?: OciDevice[];
  /** --device-cgroup-rule: more device cgroup allow rules ("c 10:229 rwm", "a *:* m") */
  deviceCgroupRules?: string[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  cgroupsPath: string;
  /** files bind-mounted read-write over the image's: /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  etcFiles: Array<{ destination: string; source: string }>;
  /** the container's volumes and binds (before the etc files, as docker orders them) */
  mounts?: OciMount[];
  /** its tmpfs mounts (after them) */
  tmpfs?: OciMount[];
  shmSize?: number;
  /** a profile file to use instead of Docker's (the CRI's Localhost profiles) */
  seccompProfile?: string;
  /** a profile's JSON to use instead of Docker's (--security-opt seccomp=<file>), privileged or not */
  seccompJson?: string;
  /** no seccomp filter at all (--security-opt seccomp=unconfined) */
  seccompUnconfined?: boolean;
  noNewPrivileges?: boolean;
  /** HostConfig.MaskedPaths / ReadonlyPaths when set (`--security-opt systempaths=unconfined` sends empty lists);
   * unset: Docker's lists, none when privileged */
  maskedPaths?: string[];
  readonlyPaths?: string[];
  sysctl?: Record<string, string>;
  /** the host's hard RLIMIT_NOFILE: never ask for more (root here lacks CAP_SYS_RESOURCE). */
  ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  /** the profile precompiled to BPF (base64) for crun; runc ignores it and uses the seccomp section */
  seccompBpf?: string;
  /** the seccomp profile the caller already worked out with containerSeccomp (and compiled seccompBpf from), null
   * for none: one resolution per start, and a profile file read once (the BPF and the spec cannot disagree).
   * Unset: worked out here from the fields above. */
  seccomp?: OciSeccomp | null;
  /** cgroup limits (memory, cpu, pids, blkio): linux.resources beside the device rules */
  resources?: OciResources;
}

/** --ulimit values as process.rlimits (the container's process and its execs alike, as in Docker). */
export function ociRlimits(ulimits: Array<{ Name: string; Soft: number; Hard: number }>): Array<{ type: string; soft: number; hard: number }> {
  return ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }));
}

/** CAP_ prefixed, upper case; docker accepts "net_admin", "NET_ADMIN", "CAP_NET_ADMIN" and "ALL". */
export function normalizeCap(cap: string): string {
  const up = cap.toUpperCase();
  return up === 'ALL' ? 'ALL' : up.startsWith('CAP_') ? up : `CAP_${up}`;
}

let bounding: Set<string> | undefined;
/** The capabilities this daemon can hand out: its own bounding set (root here lacks CAP_SYS_RESOURCE). */
function ownBoundingSet(): Set<string> {
  if (bounding) return bounding;
  try {
    const hex = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    const mask = BigInt(`0x${hex}`);
    bounding = new Set(ALL_CAPABILITIES.filter((_c, bit) => (mask >> BigInt(bit)) & 1n)); // listed in kernel order
  } catch {
    bounding = new Set(ALL_CAPABILITIES);
  }
  return bounding;
}

export function resolveCapabilities(add: string[] = [], drop: string[] = [], privileged = false): string[] {
  if (privileged) return ALL_CAPABILITIES.filter((c) => ownBoundingSet().has(c));
  const adds = add.map(normalizeCap);
  const drops = drop.map(normalizeCap);
  let caps = adds.includes('ALL') ? [...ALL_CAPABILITIES] : [...DEFAULT_CAPABILITIES, ...adds];
  if (drops.includes('ALL')) caps = adds.filter((c) => c !== 'ALL');
  else caps = caps.filter((c) => !drops.includes(c));
  // Asking the runtime for a capability the daemon does not hold fails the start (capset: EPERM).
  return [...new Set(caps)].filter((c) => ownBoundingSet().has(c));
}

/** A device node for linux.devices, and what its cgroup rule allows (r, w, m). */
export interface OciDevice { path: string; type: 'c' | 'b'; major: number; minor: number; fileMode: number; uid: number; gid: number; access: string }

/** A --device-cgroup-rule ("c 1:3 mr", "a *:* rwm"), or undefined when it is not one. */
export function parseDeviceCgroupRule(rule: string): { allow: true; type: string; major?: number; minor?: number; access: string } | undefined {
  const m = /^([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})$/.exec(rule.trim());
  if (!m) return undefined;
  return { allow: true, type: m[1], ...(m[2] === '*' ? {} : { major: Number(m[2]) }), ...(m[3] === '*' ? {} : { minor: Number(m[3]) }), access: m[4] };
}

// A null major/minor is a wildcard, expressed in the OCI spec by leaving the field out.
const devAllow = (type: 'c' | 'b', major: number | null, minor: number | null, access = 'rwm') =>
  ({ allow: true, type, ...(major === null ? {} : { major }), ...(minor === null ? {} : { minor }), access });

/** The seccomp profile a container with these settings gets (undefined when privileged). */
export function containerSeccomp(input: Pick<SpecInput, 'capAdd' | 'capDrop' | 'privileged' | 'seccompProfile' | 'seccompJson' | 'seccompUnconfined'>): OciSeccomp | undefined {
  if (input.seccompUnconfined) return undefined;
  const caps = resolveCapabilities(input.capAdd, input.capDrop, input.privileged);
  // as dockerd: a profile given by the user applies even to a privileged container
  if (input.seccompJson !== undefined) return seccompFromJson(caps, input.seccompJson);
  if (input.privileged) return undefined;
  return seccompFor(caps, input.seccompProfile);
}

export function buildSpec(input: SpecInput): Record<string, unknown> {
  const caps = resolveCapabilities(input.capAdd, input.capDrop, input.privileged);
  const seccomp: OciSeccomp | undefined = input.seccomp === undefined ? containerSeccomp(input) : input.seccomp ?? undefined;
  // the container's own lists where it has them, else Docker's (none for a privileged container)
  const maskedPaths = input.maskedPaths ?? (input.privileged ? undefined : defaultMaskedPaths());
  const readonlyPaths = input.readonlyPaths ?? (input.privileged ? undefined : READONLY_PATHS);
  // the user's annotations, and crun's precompiled filter (which no user annotation may replace)
  const annotations = { ...input.annotations, ...(seccomp && input.seccompBpf ? { 'run.oci.seccomp_bpf_data': input.seccompBpf } : {}) };
  const namespaces: Array<{ type: string; path?: string }> = [{ type: 'mount' }];
  if (input.pidNamespace === undefined) namespaces.push({ type: 'pid' });
  else if (input.pidNamespace !== 'host') namespaces.push({ type: 'pid', path: `/proc/${input.pidNamespace}/ns/pid` });
  if (input.ipcMode !== 'host') namespaces.push({ type: 'ipc' });
  if (!input.utsHost) namespaces.push({ type: 'uts' });
  if (input.cgroupNamespace) namespaces.push({ type: 'cgroup' });
  if (input.joinPid) namespaces.push({ type: 'network', path: `/proc/${input.joinPid}/ns/net` });
  else if (input.netnsPath) namespaces.push({ type: 'network', path: input.netnsPath });
  else if (input.netnsPath === undefined) namespaces.push({ type: 'network' });
  // netnsPath === null: the host's network namespace (--network host), so no entry.

  const shmSize = input.shmSize && input.shmSize > 0 ? input.shmSize : 64 * 1024 * 1024;
  const defaults: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ];
  // /dev/shm: the host's with its IPC namespace, none with --ipc none, else a tmpfs of its own
  if (input.ipcMode === 'host') defaults.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  else if (input.ipcMode !== 'none') defaults.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] });
  const mounts = orderMounts(defaults, input.mounts ?? [], input.etcFiles.map((f) => ({ destination: f.destination, type: 'bind', source: f.source, options: ['rbind', 'rprivate'] })), input.tmpfs ?? []);
  const rootfsPropagation = propagationFor(input.mounts ?? []);

  const spec: Record<string, unknown> = {
    ociVersion: '1.0.2',
    process: {
      terminal: input.terminal,
      user: { uid: input.user.uid, gid: input.user.gid, ...(input.user.additionalGids.length ? { additionalGids: input.user.additionalGids } : {}) },
      args: input.args,
      env: input.env,
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      ...(input.ulimits?.length ? { rlimits: ociRlimits(input.ulimits) } : {}),
      noNewPrivileges: input.noNewPrivileges ?? false,
      oomScoreAdj: input.oomScoreAdj ?? 0,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs ?? false },
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    ...(input.utsHost ? {} : { hostname: input.hostname }),
    mounts,
    linux: {
      namespaces,
      ...(input.devices?.length ? { devices: input.devices.map(({ access: _access, ...node }) => node) } : {}),
      cgroupsPath: input.cgroupsPath,
      ...(rootfsPropagation ? { rootfsPropagation } : {}),
      resources: {
        devices: input.privileged ? [{ allow: true, access: 'rwm' }] : [
          { allow: false, access: 'rwm' },
          devAllow('c', 1, 3), devAllow('c', 1, 5), devAllow('c', 1, 7), devAllow('c', 1, 8), devAllow('c', 1, 9),
          devAllow('c', 5, 0), devAllow('c', 5, 1), devAllow('c', 5, 2), devAllow('c', 136, null), devAllow('c', 10, 200),
          devAllow('c', null, null, 'm'), devAllow('b', null, null, 'm'),
          ...(input.devices ?? []).map((d) => devAllow(d.type, d.major, d.minor, d.access)),
          ...(input.deviceCgroupRules ?? []).map((r) => parseDeviceCgroupRule(r)).filter((r) => r !== undefined),
        ],
        ...input.resources,
      },
      ...(input.sysctl && Object.keys(input.sysctl).length ? { sysctl: input.sysctl } : {}),
      ...(maskedPaths ? { maskedPaths } : {}),
      ...(readonlyPaths ? { readonlyPaths } : {}),
      ...(seccomp ? { seccomp } : {}),
    },
  };
  return spec;
}

const depth = (dest: string) => (dest.replace(/\/+$/, '').match(/\//g) ?? []).length;

/**
 * Docker's mount order: its defaults (minus those the user mounts over, and everything under /dev when the user
 * mounts /dev), then the user's binds, the etc files it does not replace and the tmpfs mounts, sorted (stably) by
 * path depth so that a mount inside another one's destination comes after it.
 */
export function orderMounts(defaults: OciMount[], binds: OciMount[], etc: OciMount[], tmpfs: OciMount[]): OciMount[] {
  const user = new Set([...binds, ...tmpfs].map((m) => m.destination));
  const devMounted = user.has('/dev');
  const kept = defaults.filter((m) => !user.has(m.destination) && !(devMounted && m.destination.startsWith('/dev/')));
  const extra = [...binds, ...etc.filter((m) => !user.has(m.destination)), ...tmpfs];
  return [...kept, ...extra.sort((a, b) => depth(a.destination) - depth(b.destination))];
}

/** A shared bind needs a shared rootfs for its events to propagate, a slave one at least a slave rootfs. */
function propagationFor(binds: OciMount[]): string | undefined {
  const props = binds.flatMap((m) => m.options);
  if (props.includes('shared') || props.includes('rshared')) return 'shared';
  if (props.includes('slave') || props.includes('rslave')) return 'rslave';
  return undefined;
}
