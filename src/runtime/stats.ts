// A container's resource usage in the Engine API's stats JSON (GET /containers/{id}/stats), read from its cgroup
// (v1 or v2 files), /proc/stat (the host's CPU time, the reference for CPU %) and /proc/<pid>/net/dev (its
// network namespace). The parsers take file contents, so they are tested from fixtures; readSample does the I/O.
//
// Field names, which fields are left out when zero, and the v1/v2 differences follow Docker's JSON: the docker
// CLI computes CPU %, MEM USAGE (usage minus inactive file cache) and the rest from exactly these fields.
import { promises as fs, open as openCb, read as readCb, close as closeCb } from 'fs';
import type { ContainerCgroup } from './cgroups';

export interface BlkioEntry { major: number; minor: number; op: string; value: U64 }
/** Counters are numbers, or bigints beyond 2^53 (an unlimited v1 memory limit is 2^63 - 4096). */
export type U64 = number | bigint;

export interface BlkioStats {
  io_service_bytes_recursive: BlkioEntry[] | null;
  io_serviced_recursive: BlkioEntry[] | null;
  io_queue_recursive: BlkioEntry[] | null;
  io_service_time_recursive: BlkioEntry[] | null;
  io_wait_time_recursive: BlkioEntry[] | null;
  io_merged_recursive: BlkioEntry[] | null;
  io_time_recursive: BlkioEntry[] | null;
  sectors_recursive: BlkioEntry[] | null;
}

export interface CpuStats {
  cpu_usage: { total_usage: U64; percpu_usage?: U64[]; usage_in_kernelmode: U64; usage_in_usermode: U64 };
  system_cpu_usage?: U64;
  online_cpus?: number;
  throttling_data: { periods: U64; throttled_periods: U64; throttled_time: U64 };
}

export interface MemoryStats { usage?: U64; max_usage?: U64; stats?: Record<string, U64>; failcnt?: U64; limit?: U64 }

export interface NetworkStats {
  rx_bytes: U64; rx_packets: U64; rx_errors: U64; rx_dropped: U64;
  tx_bytes: U64; tx_packets: U64; tx_errors: U64; tx_dropped: U64;
}

export interface PidsStats { current?: U64; limit?: U64 }

/** One stats object, keys in Docker's order. */
export interface StatsJSON {
  read: string;
  preread: string;
  pids_stats: PidsStats;
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  name: string;
  id: string;
  networks?: Record<string, NetworkStats>;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

const emptyCpu = (): CpuStats => ({
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
});

const nullBlkio = (): BlkioStats => ({
  io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
  io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
});

/** What Docker answers for a container that is not running: only its name and id, everything else zero. */
export function emptyStats(name: string, id: string): StatsJSON {
  return {
    read: ZERO_TIME, preread: ZERO_TIME, pids_stats: {}, blkio_stats: nullBlkio(), num_procs: 0, storage_stats: {},
    cpu_stats: emptyCpu(), precpu_stats: emptyCpu(), memory_stats: {}, name, id,
  };
}

// ------------------------------------------------------------------------------------------ parsing

/** A kernel counter: a number while exact, a bigint beyond 2^53. */
export function u64(text: string | undefined): U64 {
  if (!text) return 0;
  const t = text.trim();
  if (!/^\d+$/.test(t)) return 0;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

const num = (v: U64) => (typeof v === 'bigint' ? Number(v) : v);

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat, memory.events) into a map. */
export function parseFlatKeyed(text: string | undefined): Map<string, U64> {
  const out = new Map<string, U64>();
  for (const line of (text ?? '').split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out.set(line.slice(0, sp), u64(line.slice(sp + 1)));
  }
  return out;
}

/** A limit file: "max" (v2) or a huge v1 value mean no limit (0 in Docker's JSON). */
function limitOf(text: string | undefined): U64 {
  const t = (text ?? '').trim();
  if (t === '' || t === 'max') return 0;
  return u64(t);
}

/** blkio.* v1 files: "8:0 Read 4096" lines, "Total N" skipped. */
export function parseBlkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(/[ :]+/).filter(Boolean);
    if (f.length < 3) continue;
    const [major, minor] = [Number(f[0]), Number(f[1])];
    if (!Number.isInteger(major) || !Number.isInteger(minor)) continue;
    out.push(f.length >= 4 ? { major, minor, op: f[2], value: u64(f[3]) } : { major, minor, op: '', value: u64(f[2]) });
  }
  return out;
}

/** io.stat (v2): "8:0 rbytes=1 wbytes=2 rios=3 wios=4 …" → Docker's read/write byte entries. */
export function parseIoStatV2(text: string | undefined): BlkioEntry[] | null {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = new Map(kvs.map((s) => { const i = s.indexOf('='); return [s.slice(0, i), u64(s.slice(i + 1))] as [string, U64]; }));
    const [major, minor] = [Number(m[1]), Number(m[2])];
    out.push({ major, minor, op: 'read', value: kv.get('rbytes') ?? 0 }, { major, minor, op: 'write', value: kv.get('wbytes') ?? 0 });
  }
  return out.length ? out : null;
}

/** /proc/stat: the host's CPU time in ns (user..softirq, as Docker sums it) and the number of online CPUs. */
export function parseProcStat(text: string): { systemUsage: U64; onlineCpus: number } {
  let systemUsage: U64 = 0;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu')) break;
    if (line[3] === ' ') {
      const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((a, v) => a + BigInt(v), 0n);
      const ns = (ticks * 1_000_000_000n) / 100n; // USER_HZ is 100 on Linux
      systemUsage = ns <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ns) : ns;
    } else if (line[3] >= '0' && line[3] <= '9') {
      onlineCpus++;
    }
  }
  return { systemUsage, onlineCpus };
}

/** /proc/<pid>/net/dev of the container's init: every interface but loopback, in Docker's field names. */
export function parseNetDev(text: string): Record<string, NetworkStats> | undefined {
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map((x) => u64(x));
    if (f.length < 12) continue;
    out[name] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return Object.keys(out).length ? out : undefined;
}

const V1_MEMORY_KEYS = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable',
];
const V1_MEMORY_STAT_KEYS = [
  ...V1_MEMORY_KEYS, 'hierarchical_memory_limit', 'hierarchical_memsw_limit', ...V1_MEMORY_KEYS.map((k) => `total_${k}`),
].sort();

const V2_MEMORY_STAT_KEYS = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable',
  'pgfault', 'pgmajfault', 'workingset_refault', 'workingset_activate', 'workingset_nodereclaim', 'pgrefill', 'pgscan',
  'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc', 'thp_collapse_alloc',
].sort();

/** The fixed set of memory.stat keys Docker reports (sorted, as Go prints a map), missing ones as 0. */
function memoryStatMap(text: string | undefined, keys: string[]): Record<string, U64> {
  const all = parseFlatKeyed(text);
  const out: Record<string, U64> = {};
  for (const k of keys) out[k] = all.get(k) ?? 0;
  return out;
}

/** Docker's limit for a container without one is the machine's memory. */
const clampLimit = (limit: U64, machine: number): U64 => (machine > 0 && num(limit) > machine ? machine : limit);

/** The files of one sample, by name relative to the controller's directory (absent: undefined). */
export type StatFiles = Record<string, string | undefined>;

/** Files read for a v1 sample, by controller. */
export const V1_FILES = {
  cpuacct: ['cpuacct.usage', 'cpuacct.usage_percpu', 'cpuacct.stat'],
  cpu: ['cpu.stat'],
  memory: ['memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'memory.failcnt', 'memory.limit_in_bytes', 'memory.stat'],
  pids: ['pids.current', 'pids.max'],
  blkio: ['blkio.io_serviced_recursive', 'blkio.throttle.io_service_bytes', 'blkio.throttle.io_serviced'],
} as const;

/** Files read for a v2 sample (all in the one directory). */
export const V2_FILES = ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat', 'memory.events', 'pids.current', 'pids.max', 'io.stat'] as const;

/** The CFQ files (old kernels), read only when blkio.io_serviced_recursive exists. */
export const V1_CFQ_FILES = [
  'blkio.sectors_recursive', 'blkio.io_service_bytes_recursive', 'blkio.io_queued_recursive', 'blkio.io_service_time_recursive',
  'blkio.io_wait_time_recursive', 'blkio.io_merged_recursive', 'blkio.time_recursive',
] as const;

type Part = Pick<StatsJSON, 'pids_stats' | 'blkio_stats' | 'cpu_stats' | 'memory_stats'>;

/** A v1 sample from its files. */
export function statsFromV1(f: StatFiles, machineMemory: number): Part {
  const cpuacct = parseFlatKeyed(f['cpuacct.stat']);
  const throttle = parseFlatKeyed(f['cpu.stat']);
  const tick = (v: U64 | undefined) => (typeof v === 'bigint' ? v * 10_000_000n : (v ?? 0) * 10_000_000); // USER_HZ ticks → ns
  const percpu = (f['cpuacct.usage_percpu'] ?? '').trim().split(/\s+/).filter(Boolean).map((x) => u64(x));
  const cpu: CpuStats = {
    cpu_usage: {
      total_usage: u64(f['cpuacct.usage']),
      ...(percpu.length ? { percpu_usage: percpu } : {}),
      usage_in_kernelmode: tick(cpuacct.get('system')),
      usage_in_usermode: tick(cpuacct.get('user')),
    },
    throttling_data: { periods: throttle.get('nr_periods') ?? 0, throttled_periods: throttle.get('nr_throttled') ?? 0, throttled_time: throttle.get('throttled_time') ?? 0 },
  };
  let memory: MemoryStats = {};
  if (f['memory.stat'] !== undefined) {
    memory = {
      usage: u64(f['memory.usage_in_bytes']),
      max_usage: u64(f['memory.max_usage_in_bytes']),
      stats: memoryStatMap(f['memory.stat'], V1_MEMORY_STAT_KEYS),
      failcnt: u64(f['memory.failcnt']),
      limit: clampLimit(u64(f['memory.limit_in_bytes']), machineMemory),
    };
  }
  const cfq = f['blkio.io_serviced_recursive'] !== undefined;
  const list = (name: string) => parseBlkioV1(f[name]);
  let blkio: BlkioStats = {
    io_service_bytes_recursive: [], io_serviced_recursive: [], io_queue_recursive: [], io_service_time_recursive: [],
    io_wait_time_recursive: [], io_merged_recursive: [], io_time_recursive: [], sectors_recursive: [],
  };
  if (cfq) {
    blkio = {
      io_service_bytes_recursive: list('blkio.io_service_bytes_recursive'), io_serviced_recursive: list('blkio.io_serviced_recursive'),
      io_queue_recursive: list('blkio.io_queued_recursive'), io_service_time_recursive: list('blkio.io_service_time_recursive'),
      io_wait_time_recursive: list('blkio.io_wait_time_recursive'), io_merged_recursive: list('blkio.io_merged_recursive'),
      io_time_recursive: list('blkio.time_recursive'), sectors_recursive: list('blkio.sectors_recursive'),
    };
  }
  // A kernel with CFQ compiled in may still not use it for this cgroup's devices: then the throttle counters count.
  if (Object.values(blkio).every((l) => !l || l.length === 0)) {
    blkio.io_service_bytes_recursive = list('blkio.throttle.io_service_bytes');
    blkio.io_serviced_recursive = list('blkio.throttle.io_serviced');
  }
  return { pids_stats: pidsOf(f), blkio_stats: blkio, cpu_stats: cpu, memory_stats: memory };
}

/** A v2 sample from its files. */
export function statsFromV2(f: StatFiles, machineMemory: number): Part {
  const c = parseFlatKeyed(f['cpu.stat']);
  const us = (v: U64 | undefined) => (typeof v === 'bigint' ? v * 1000n : (v ?? 0) * 1000);
  const cpu: CpuStats = {
    cpu_usage: { total_usage: us(c.get('usage_usec')), usage_in_kernelmode: us(c.get('system_usec')), usage_in_usermode: us(c.get('user_usec')) },
    throttling_data: { periods: c.get('nr_periods') ?? 0, throttled_periods: c.get('nr_throttled') ?? 0, throttled_time: us(c.get('throttled_usec')) },
  };
  let memory: MemoryStats = {};
  if (f['memory.stat'] !== undefined) {
    const max = (f['memory.max'] ?? '').trim();
    memory = {
      usage: u64(f['memory.current']),
      stats: memoryStatMap(f['memory.stat'], V2_MEMORY_STAT_KEYS),
      failcnt: parseFlatKeyed(f['memory.events']).get('oom') ?? 0,
      limit: max === 'max' || max === '' ? machineMemory : clampLimit(u64(max), machineMemory),
    };
  }
  const blkio = nullBlkio();
  blkio.io_service_bytes_recursive = parseIoStatV2(f['io.stat']);
  return { pids_stats: pidsOf(f), blkio_stats: blkio, cpu_stats: cpu, memory_stats: memory };
}

function pidsOf(f: StatFiles): PidsStats {
  if (f['pids.current'] === undefined) return {};
  const current = u64(f['pids.current']);
  const limit = limitOf(f['pids.max']);
  return { ...(num(current) ? { current } : {}), ...(num(limit) ? { limit } : {}) };
}

/** Drops Go's omitempty fields that are zero (max_usage, failcnt, …), so the JSON has Docker's keys. */
function omitZero<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!(v === 0 || v === 0n)) out[k] = v;
  return out as T;
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed, as Go formats time.Time in JSON. */
export function rfc3339Nano(epochNs: bigint): string {
  const ms = Number(epochNs / 1_000_000n);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = String(epochNs % 1_000_000_000n).padStart(9, '0').replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

// Wall clock with sub-millisecond digits: the epoch at start-up plus a monotonic offset.
const epochBaseNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
export const nowNs = () => epochBaseNs + process.hrtime.bigint();

// ------------------------------------------------------------------------------------------ reading

/** Reads one file's whole text; undefined when it does not exist (or went away). */
export type FileReader = (path: string) => Promise<string | undefined>;

async function readOr(file: string): Promise<string | undefined> {
  try { return await fs.readFile(file, 'utf8'); } catch { return undefined; }
}

/**
 * The stats files of one stream, kept open and re-read from offset 0: cgroup and /proc files regenerate their
 * content on every read from the start, so one pread per file and sample replaces open/fstat/read/close
 * (a tenth of the CPU per sample, which is what a daemon streaming many containers spends its time on).
 */
export class OpenFiles {
  private files = new Map<string, { fd: number; buf: Buffer } | null>();

  readonly read: FileReader = async (path) => {
    let f = this.files.get(path);
    if (f === null) return undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!f) {
        const fd = await new Promise<number | undefined>((resolve) => openCb(path, 'r', (err, fd) => resolve(err ? undefined : fd)));
        if (fd === undefined) { this.files.set(path, null); return undefined; }
        f = { fd, buf: Buffer.allocUnsafe(8192) };
        this.files.set(path, f);
      }
      const text = await this.pread(f);
      if (text !== undefined) return text;
      // the file went away under us (the cgroup was removed and made again at a restart): open it afresh
      this.drop(path);
      f = undefined;
    }
    return undefined;
  };

  private async pread(f: { fd: number; buf: Buffer }): Promise<string | undefined> {
    for (;;) {
      const n = await new Promise<number | undefined>((resolve) => readCb(f.fd, f.buf, 0, f.buf.length, 0, (err, n) => resolve(err ? undefined : n)));
      if (n === undefined) return undefined;
      if (n < f.buf.length) return f.buf.toString('latin1', 0, n);
      f.buf = Buffer.allocUnsafe(f.buf.length * 4); // did not fit: read it again, whole
    }
  }

  private drop(path: string): void {
    const f = this.files.get(path);
    if (f) closeCb(f.fd, () => undefined);
    this.files.delete(path);
  }

  /** Forgets every file (the container stopped, or its init changed). */
  reset(): void { for (const path of [...this.files.keys()]) this.drop(path); }
  close(): void { this.reset(); }
}

/** Reads every stats file of a container's cgroup (missing files are undefined). */
export async function readStatFiles(cg: ContainerCgroup, read: FileReader = readOr): Promise<{ v2: boolean; files: StatFiles }> {
  const files: StatFiles = {};
  if (cg.memoryV2 || (!cg.layout.v1.memory && cg.dir('cpu')?.v2)) {
    const dir = (cg.dir('memory') ?? cg.dir('cpu'))!.dir;
    const texts = await Promise.all(V2_FILES.map((n) => read(`${dir}/${n}`)));
    V2_FILES.forEach((n, i) => { files[n] = texts[i]; });
    return { v2: true, files };
  }
  const jobs: Array<Promise<void>> = [];
  for (const [ctrl, names] of Object.entries(V1_FILES) as Array<[keyof typeof V1_FILES, readonly string[]]>) {
    const d = cg.dir(ctrl);
    if (!d) continue;
    for (const n of names) jobs.push(read(`${d.dir}/${n}`).then((t) => { files[n] = t; }));
  }
  await Promise.all(jobs);
  if (files['blkio.io_serviced_recursive'] !== undefined) {
    const d = cg.dir('blkio')!;
    await Promise.all(V1_CFQ_FILES.map(async (n) => { files[n] = await read(`${d.dir}/${n}`); }));
  }
  return { v2: false, files };
}

export interface Sample extends Part {
  read: string;
  networks?: Record<string, NetworkStats>;
}

/**
 * One sample of a running container. Undefined when its cgroup is gone (it stopped meanwhile).
 * `pid` is the container's init on the host (for its network namespace's counters); `procStat` is /proc/stat,
 * read by the caller close to this sample (one read serves every container sampled at the same moment).
 */
export async function readSample(cg: ContainerCgroup, opts: { pid?: number; network: boolean; procStat: string; machineMemory: number; read?: FileReader }): Promise<Sample | undefined> {
  const read = opts.read ?? readOr;
  const [{ v2, files }, netDev] = await Promise.all([
    readStatFiles(cg, read),
    opts.network && opts.pid ? read(`/proc/${opts.pid}/net/dev`) : Promise.resolve(undefined),
  ]);
  if (files['memory.stat'] === undefined && files['cpu.stat'] === undefined && files['cpuacct.usage'] === undefined) return undefined;
  return buildSample(v2, files, opts.procStat, netDev, opts.machineMemory, nowNs());
}

/** Assembles a sample from file contents (the pure part of readSample). */
export function buildSample(v2: boolean, files: StatFiles, procStat: string, netDev: string | undefined, machineMemory: number, readNs: bigint): Sample {
  const part = v2 ? statsFromV2(files, machineMemory) : statsFromV1(files, machineMemory);
  const sys = parseProcStat(procStat);
  part.cpu_stats = {
    cpu_usage: part.cpu_stats.cpu_usage,
    ...(num(sys.systemUsage) ? { system_cpu_usage: sys.systemUsage } : {}),
    ...(sys.onlineCpus ? { online_cpus: sys.onlineCpus } : {}),
    throttling_data: part.cpu_stats.throttling_data,
  };
  part.memory_stats = omitZero(part.memory_stats);
  const networks = netDev ? parseNetDev(netDev) : undefined;
  return { read: rfc3339Nano(readNs), ...part, ...(networks ? { networks } : {}) };
}

/** The stats JSON of a sample, with the previous sample's CPU figures (precpu) as Docker pairs them. */
export function statsJson(name: string, id: string, cur: Sample, prev?: Sample): StatsJSON {
  return {
    read: cur.read,
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: cur.pids_stats,
    blkio_stats: cur.blkio_stats,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cur.cpu_stats,
    precpu_stats: prev?.cpu_stats ?? emptyCpu(),
    memory_stats: cur.memory_stats,
    name,
    id,
    ...(cur.networks ? { networks: cur.networks } : {}),
  };
}

/** JSON text with bigints written as plain integers (JSON.stringify refuses them). */
export function stringifyStats(s: StatsJSON): string {
  try {
    return JSON.stringify(s);
  } catch {
    return JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? `\u0000${v}` : v)).replace(/"\\u0000(\d+)"/g, '$1');
  }
}
