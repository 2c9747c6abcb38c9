// Unit tests for resource limits and stats without containers: Docker's validation and update rules, the OCI
// resources, cgroup writes (into a fake cgroup tree), the stats JSON built from fixture cgroup files (v1 as read on
// this host, v2), and the docker CLI's stats math and table cells.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ContainerCgroup, CgroupLayout, HostSupport, applyResources, oomKillCount, parseCpuList, parseLayout, sharesToWeight,
} from '../../src/runtime/cgroups';
import {
  buildSample, emptyStats, parseNetDev, parseProcStat, parseBlkioV1, parseIoStatV2, rfc3339Nano, statsFromV1, statsFromV2,
  statsJson, stringifyStats, StatFiles,
} from '../../src/runtime/stats';
import {
  checkCreateResources, checkRestartPolicy, mergeUpdate, ociResources, parseUpdateBody, updateResources, verifyResources,
} from '../../src/engine/containers/resources';
import { buildSpec } from '../../src/runtime/spec';
import { cpuPercent, entryFrom, memoryUsage, StatsContext, statsHeaders, DEFAULT_STATS_FORMAT } from '../../src/cli/format/stats';
import { writeFormatted } from '../../src/cli/format/formatter';
import { command, updateBody } from '../../src/cli/commands/resources';
import { parseFlags } from '../../src/cli/command';
import type { HostConfig } from '../../src/engine/containers/types';
import type { EngineError } from '../../src/common/errors';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const SYS: HostSupport = {
  memory: true, swap: true, reservation: true, swappiness: true, oomKillDisable: true, cpuShares: true, cpuCfs: true,
  cpuset: true, pids: true, blkioWeight: false, numCpu: 2, cpus: '0-1', mems: '0', machineMemory: 24 * GiB,
};

const hc = (extra: Record<string, unknown> = {}): HostConfig => ({
  NetworkMode: 'bridge', PortBindings: {}, PublishAllPorts: false, AutoRemove: false, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
  Runtime: '', Privileged: false, CapAdd: null, CapDrop: null, ReadonlyRootfs: false, ShmSize: 64 * MiB, ...extra,
});

/** The EngineError a call throws: its status and message. */
function thrown(fn: () => unknown): { status: number; message: string } {
  try { fn(); } catch (err) { return { status: (err as EngineError).status, message: (err as Error).message }; }
  throw new Error('expected an error');
}

// ------------------------------------------------------------------------------------------ validation

test('create: Docker\'s resource errors, word for word', () => {
  const create = (extra: Record<string, unknown>, sys = SYS) => thrown(() => checkCreateResources(hc(extra), sys));
  assert.deepEqual(create({ Memory: 1000 }), { status: 400, message: 'Minimum memory limit allowed is 6MB' });
  assert.deepEqual(create({ MemoryReservation: 1000 }), { status: 400, message: 'Minimum memory reservation allowed is 6MB' });
  assert.equal(create({ Memory: 64 * MiB, MemorySwap: 32 * MiB }).message, 'Minimum memoryswap limit should be larger than memory limit, see usage');
  assert.equal(create({ MemorySwap: 32 * MiB }).message, 'You should always set the Memory limit when using Memoryswap limit, see usage');
  assert.equal(create({ Memory: 16 * MiB, MemoryReservation: 32 * MiB }).message, 'Minimum memory limit can not be less than memory reservation limit, see usage');
  assert.equal(create({ MemorySwappiness: 101 }).message, 'Invalid value: 101, valid memory swappiness range is 0-100');
  assert.equal(create({ NanoCpus: 3e9 }).message, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
  assert.equal(create({ NanoCpus: -1 }).message, 'Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
  assert.equal(create({ NanoCpus: 5e8, CpuQuota: 50000 }).message, 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  assert.equal(create({ NanoCpus: 5e8, CpuPeriod: 50000 }).message, 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
  assert.equal(create({ CpuPeriod: 999 }).message, 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  assert.equal(create({ CpuQuota: 999 }).message, 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
  assert.equal(create({ CpusetCpus: '1-0' }).message, 'Invalid value 1-0 for cpuset cpus: invalid format: 1-0');
  assert.equal(create({ CpusetCpus: '0-3' }).message, 'Requested CPUs are not available - requested 0-3, available: 0-1');
  assert.equal(create({ CpusetMems: '1' }).message, 'Requested memory nodes are not available - requested 1, available: 0');
  assert.equal(create({ ShmSize: -1 }).message, 'SHM size can not be less than 0');
  assert.equal(create({ Memory: '1g' }).message, 'json: cannot unmarshal string into Go struct field HostConfig.Memory of type int64');
  assert.equal(create({ CpuShares: -2 }).message, 'invalid CPU shares (-2): value must be a positive integer');
});

test('create: Docker\'s defaults and warnings', () => {
  const h = hc({ Memory: 32 * MiB, PidsLimit: 0, MemorySwappiness: -1 });
  assert.deepEqual(checkCreateResources(h, SYS), []);
  assert.equal(h.MemorySwap, 64 * MiB); // twice the memory when only memory is given
  assert.equal(h.PidsLimit, null); // 0 and -1 are "no limit"
  assert.equal(h.MemorySwappiness, null); // the CLI's -1 means "not set"
  assert.equal(h.OomKillDisable, false);
  const unlimitedSwap = hc({ Memory: 32 * MiB, MemorySwap: -1 });
  checkCreateResources(unlimitedSwap, SYS);
  assert.equal(unlimitedSwap.MemorySwap, -1);
  assert.deepEqual(checkCreateResources(hc({ OomKillDisable: true }), SYS),
    ['OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.']);
  // a host without swap accounting: memory limited without swap
  const noSwap = hc({ Memory: 32 * MiB });
  assert.deepEqual(checkCreateResources(noSwap, { ...SYS, swap: false }),
    ['Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.']);
  assert.equal(noSwap.MemorySwap, -1);
  const v2 = hc({ OomKillDisable: true, Memory: 32 * MiB });
  assert.deepEqual(checkCreateResources(v2, { ...SYS, oomKillDisable: false }), ['Your kernel does not support OomKillDisable. OomKillDisable discarded.']);
  assert.deepEqual(checkCreateResources(hc({ BlkioWeight: 300 }), SYS), ['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
});

test('OCI resources: --cpus as CFS quota over a 100 ms period, limits only when set', () => {
  assert.deepEqual(ociResources(hc()), {});
  assert.deepEqual(ociResources(hc({
    Memory: 32 * MiB, MemorySwap: 64 * MiB, MemoryReservation: 16 * MiB, NanoCpus: 5e8, CpuShares: 512, CpusetCpus: '0', PidsLimit: 20, OomKillDisable: false,
  })), {
    memory: { limit: 32 * MiB, reservation: 16 * MiB, swap: 64 * MiB },
    cpu: { shares: 512, cpus: '0', period: 100000, quota: 50000 },
    pids: { limit: 20 },
  });
  assert.deepEqual(ociResources(hc({ CpuPeriod: 50000, CpuQuota: 25000, MemorySwap: -1, Memory: 8 * MiB, OomKillDisable: true, MemorySwappiness: 0 })), {
    memory: { limit: 8 * MiB, swappiness: 0, disableOOMKiller: true },
    cpu: { period: 50000, quota: 25000 },
  });
  // the spec keeps the device rules beside them
  const spec = buildSpec({ rootfs: '/r', args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, terminal: false, hostname: 'h', cgroupsPath: '/berth/x', etcFiles: [], resources: { pids: { limit: 5 } } });
  const res = (spec.linux as { resources: { devices: unknown[]; pids: unknown } }).resources;
  assert.ok(res.devices.length > 5);
  assert.deepEqual(res.pids, { limit: 5 });
});

test('update: Docker\'s rules, and a memory limit for a container that had none', () => {
  const id = 'c'.repeat(64);
  const upd = (cur: Record<string, unknown>, req: Record<string, unknown>) => mergeUpdate(hc(cur), parseUpdateBody(req), id);
  const err = (cur: Record<string, unknown>, req: Record<string, unknown>) => thrown(() => upd(cur, req));
  assert.deepEqual(err({ Memory: 32 * MiB, MemorySwap: 64 * MiB }, { Memory: 100 * MiB }), {
    status: 409, message: `Cannot update container ${id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`,
  });
  assert.equal(err({ NanoCpus: 5e8 }, { CpuQuota: 20000 }).message, `Cannot update container ${id}: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set`);
  assert.equal(err({ CpuQuota: 20000 }, { NanoCpus: 1e9 }).message, `Cannot update container ${id}: Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set`);
  assert.equal(err({ AutoRemove: true }, { RestartPolicy: { Name: 'always' } }).message, `Cannot update container ${id}: Restart policy cannot be updated because AutoRemove is enabled for the container`);
  // within the swap limit: fine; zero values leave settings alone
  const a = upd({ Memory: 32 * MiB, MemorySwap: 64 * MiB, CpuShares: 100 }, { Memory: 64 * MiB, CpuShares: 0, RestartPolicy: { Name: '' } });
  assert.equal(a.Memory, 64 * MiB);
  assert.equal(a.MemorySwap, 64 * MiB);
  assert.equal(a.CpuShares, 100);
  assert.deepEqual(a.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  // no limit before: swap follows the run -m rule (Docker refuses this; see mergeUpdate)
  const b = upd({}, { Memory: 64 * MiB });
  assert.equal(b.MemorySwap, 128 * MiB);
  // unlimited swap stays unlimited
  assert.equal(upd({ Memory: 32 * MiB, MemorySwap: -1 }, { Memory: 64 * MiB }).MemorySwap, -1);
  // pids: -1 and 0 mean unlimited, stored as 0
  assert.equal(upd({ PidsLimit: 20 }, { PidsLimit: -1 }).PidsLimit, 0);
  assert.equal(upd({ PidsLimit: 20 }, {}).PidsLimit, 20);
  assert.deepEqual(upd({}, { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } }).RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  // what is written into the live cgroup: only what the request changes
  const req = parseUpdateBody({ Memory: 64 * MiB, NanoCpus: 1.5e9, PidsLimit: -1 });
  assert.deepEqual(updateResources(req, upd({}, { Memory: 64 * MiB })), {
    memory: { limit: 64 * MiB, swap: 128 * MiB }, cpu: { period: 100000, quota: 150000 }, pids: { limit: 0 },
  });
  // update validation: no "always set Memory" rule, the rest as at create
  assert.deepEqual(verifyResources(parseUpdateBody({ MemorySwap: 64 * MiB }), SYS, true), []);
  assert.equal(thrown(() => verifyResources(parseUpdateBody({ Memory: 10 }), SYS, true)).message, 'Minimum memory limit allowed is 6MB');
  assert.equal(thrown(() => checkRestartPolicy({ Name: 'sometimes' })).message, "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  assert.equal(thrown(() => checkRestartPolicy({ Name: 'always', MaximumRetryCount: 2 })).message, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
});

test('berth update sends what the docker CLI sends', () => {
  const cmd = command('update');
  const body = (...argv: string[]) => {
    const p = parseFlags(cmd.spec, [...argv, 'c1'], { validators: cmd.validators });
    return updateBody(p);
  };
  const b = body('-m', '64m', '--memory-swap', '-1', '--cpus', '0.5', '--restart', 'on-failure:2');
  assert.equal(b.Memory, 64 * MiB);
  assert.equal(b.MemorySwap, -1);
  assert.equal(b.NanoCpus, 5e8);
  assert.ok(!('PidsLimit' in b));
  assert.deepEqual(b.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 2 });
  assert.equal(body('--pids-limit', '-1').PidsLimit, -1);
  assert.deepEqual(body('--cpu-shares', '512').RestartPolicy, { Name: '', MaximumRetryCount: 0 });
});

// ------------------------------------------------------------------------------------------ cgroups

const MOUNTINFO_HYBRID = [
  '25 31 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw',
  '28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct',
  '29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory',
  '30 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids',
].join('\n');

test('cgroup layout: hybrid v1 controllers, pure v2', () => {
  const hybrid = parseLayout(MOUNTINFO_HYBRID, () => []);
  assert.equal(hybrid.v1.cpuacct, '/sys/fs/cgroup/cpu,cpuacct');
  assert.equal(hybrid.unified, '/sys/fs/cgroup/unified');
  const cg = new ContainerCgroup('/berth/abc', hybrid);
  assert.deepEqual(cg.dir('memory'), { dir: '/sys/fs/cgroup/memory/berth/abc', v2: false });
  assert.deepEqual(cg.dir('cpu'), { dir: '/sys/fs/cgroup/cpu,cpuacct/berth/abc', v2: false });
  assert.equal(cg.dir('cpuset'), undefined);
  const v2 = parseLayout('35 24 0:30 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate', () => ['cpuset', 'cpu', 'io', 'memory', 'pids']);
  const cg2 = new ContainerCgroup('/berth/abc', v2);
  assert.deepEqual(cg2.dir('blkio'), { dir: '/sys/fs/cgroup/berth/abc', v2: true });
  assert.ok(cg2.memoryV2);
  assert.deepEqual([...parseCpuList('0-2,5')], [0, 1, 2, 5]);
  assert.throws(() => parseCpuList('a'), /invalid format: a/);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(2), 1);
});

/** A fake cgroup tree under a temp dir: the files applyResources writes and the counters it reads. */
function fakeTree(v2: boolean): { root: string; cg: ContainerCgroup; file: (ctrl: string, name: string) => string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'berth-cg-'));
  const layout: CgroupLayout = v2
    ? { v1: {}, unified: root, v2Controllers: ['cpu', 'cpuset', 'memory', 'pids', 'io'] }
    : { v1: Object.fromEntries(['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio'].map((c) => [c, path.join(root, c)])), v2Controllers: [] };
  const cg = new ContainerCgroup('/berth/x', layout);
  const dirOf = (ctrl: string) => (v2 ? path.join(root, 'berth/x') : path.join(root, ctrl, 'berth/x'));
  for (const c of ['memory', 'cpu', 'cpuacct', 'cpuset', 'pids', 'blkio']) mkdirSync(dirOf(c), { recursive: true });
  return { root, cg, file: (ctrl, name) => path.join(dirOf(ctrl), name) };
}

test('live updates write the v1 and v2 files', async () => {
  const t1 = fakeTree(false);
  try {
    await applyResources(t1.cg, { memory: { limit: 64 * MiB, swap: -1, reservation: 8 * MiB }, cpu: { period: 100000, quota: 50000, shares: 512, cpus: '0' }, pids: { limit: 0 } });
    const read = (c: string, n: string) => readFileSync(t1.file(c, n), 'utf8');
    assert.equal(read('memory', 'memory.limit_in_bytes'), String(64 * MiB));
    assert.equal(read('memory', 'memory.memsw.limit_in_bytes'), '-1');
    assert.equal(read('memory', 'memory.soft_limit_in_bytes'), String(8 * MiB));
    assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
    assert.equal(read('cpu', 'cpu.cfs_period_us'), '100000');
    assert.equal(read('cpu', 'cpu.shares'), '512');
    assert.equal(read('cpuset', 'cpuset.cpus'), '0');
    assert.equal(read('pids', 'pids.max'), 'max');
    writeFileSync(t1.file('memory', 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    assert.equal(await oomKillCount(t1.cg), 2);
  } finally { rmSync(t1.root, { recursive: true, force: true }); }
  const t2 = fakeTree(true);
  try {
    writeFileSync(t2.file('cpu', 'cpu.max'), 'max 100000\n');
    await applyResources(t2.cg, { memory: { limit: 64 * MiB, swap: 96 * MiB }, cpu: { quota: 50000, shares: 1024 }, pids: { limit: 20 } });
    const read = (n: string) => readFileSync(t2.file('memory', n), 'utf8');
    assert.equal(read('memory.max'), String(64 * MiB));
    assert.equal(read('memory.swap.max'), String(32 * MiB)); // v2 counts swap apart from memory
    assert.equal(read('cpu.max'), '50000 100000');
    assert.equal(read('cpu.weight'), '39');
    assert.equal(read('pids.max'), '20');
    writeFileSync(t2.file('memory', 'memory.events'), 'low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n');
    assert.equal(await oomKillCount(t2.cg), 1);
  } finally { rmSync(t2.root, { recursive: true, force: true }); }
});

// ------------------------------------------------------------------------------------------ stats JSON

// Read on this host from a busybox container with -m 100m, --pids-limit 30.
const V1_FILES: StatFiles = {
  'cpuacct.usage': '8599884\n',
  'cpuacct.usage_percpu': '5656649 2943235 \n',
  'cpuacct.stat': 'user 3\nsystem 6\n',
  'cpu.stat': 'nr_periods 2\nnr_throttled 1\nthrottled_time 4000\nnr_bursts 0\nburst_time 0\n',
  'memory.usage_in_bytes': '217088\n',
  'memory.max_usage_in_bytes': '524288\n',
  'memory.failcnt': '0\n',
  'memory.limit_in_bytes': '104857600\n',
  'memory.stat': 'cache 0\nrss 53248\nrss_huge 0\nshmem 0\nmapped_file 0\ndirty 0\nwriteback 0\nswap 0\npgpgin 19\npgpgout 6\npgfault 75\npgmajfault 0\ninactive_anon 49152\nactive_anon 4096\ninactive_file 8192\nactive_file 0\nunevictable 0\nhierarchical_memory_limit 104857600\nhierarchical_memsw_limit 9223372036854771712\ntotal_cache 0\ntotal_rss 53248\ntotal_rss_huge 0\ntotal_shmem 0\ntotal_mapped_file 0\ntotal_dirty 0\ntotal_writeback 0\ntotal_swap 0\ntotal_pgpgin 19\ntotal_pgpgout 6\ntotal_pgfault 75\ntotal_pgmajfault 0\ntotal_inactive_anon 49152\ntotal_active_anon 4096\ntotal_inactive_file 8192\ntotal_active_file 0\ntotal_unevictable 0\n',
  'pids.current': '1\n',
  'pids.max': '30\n',
  'blkio.throttle.io_service_bytes': '8:0 Read 4096\n8:0 Write 1048576\n8:0 Sync 0\n8:0 Async 1052672\n8:0 Discard 0\n8:0 Total 1052672\nTotal 1052672\n',
  'blkio.throttle.io_serviced': 'Total 0\n',
};
const PROC_STAT = 'cpu  1176627 1 1039394 1852696 61459 0 28911 0 0 0\ncpu0 586840 0 511966 944618 24435 0 11001 0 0 0\ncpu1 589786 1 527428 908077 37023 0 17910 0 0 0\nintr 1 2 3\n';
const NET_DEV = 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:       9       1    0    0    0     0          0         0        9       1    0    0    0     0       0          0\n  eth0:    1672      20    0    1    0     0          0         0      578       7    0    0    0     0       0          0\n';

test('v1 stats JSON: Docker\'s fields, order and omissions', () => {
  const s = buildSample(false, V1_FILES, PROC_STAT, NET_DEV, 24 * GiB, 1_764_108_085_023_616_889n);
  const json = JSON.parse(stringifyStats(statsJson('/s1', 'abc', s)));
  assert.deepEqual(Object.keys(json), ['read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'name', 'id', 'networks']);
  assert.equal(json.read, '2025-11-25T22:01:25.023616889Z');
  assert.equal(json.preread, '0001-01-01T00:00:00Z');
  assert.deepEqual(json.pids_stats, { current: 1, limit: 30 });
  assert.deepEqual(json.cpu_stats, {
    cpu_usage: { total_usage: 8599884, percpu_usage: [5656649, 2943235], usage_in_kernelmode: 60000000, usage_in_usermode: 30000000 },
    system_cpu_usage: (1176627 + 1 + 1039394 + 1852696 + 61459 + 0 + 28911) * 1e7, online_cpus: 2,
    throttling_data: { periods: 2, throttled_periods: 1, throttled_time: 4000 },
  });
  assert.deepEqual(json.precpu_stats, { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } });
  // failcnt 0 is left out, like Go's omitempty
  assert.deepEqual(Object.keys(json.memory_stats), ['usage', 'max_usage', 'stats', 'limit']);
  assert.equal(Object.keys(json.memory_stats.stats).length, 32);
  assert.deepEqual(Object.keys(json.memory_stats.stats), [...Object.keys(json.memory_stats.stats)].sort());
  assert.equal(json.memory_stats.stats.total_inactive_file, 8192);
  assert.ok(!('swap' in json.memory_stats.stats) && !('shmem' in json.memory_stats.stats));
  assert.deepEqual(json.blkio_stats.io_service_bytes_recursive.slice(0, 2), [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'Write', value: 1048576 }]);
  assert.deepEqual(json.blkio_stats.io_serviced_recursive, []);
  assert.deepEqual(json.blkio_stats.sectors_recursive, []);
  assert.deepEqual(json.networks, { eth0: { rx_bytes: 1672, rx_packets: 20, rx_errors: 0, rx_dropped: 1, tx_bytes: 578, tx_packets: 7, tx_errors: 0, tx_dropped: 0 } });
  // 2^63 - 4096 (an unlimited v1 limit) stays exact
  assert.match(stringifyStats(statsJson('/s1', 'abc', s)), /"hierarchical_memsw_limit":9223372036854771712,/);
  // a container without a memory limit reports the machine's memory
  const unlimited = statsFromV1({ ...V1_FILES, 'memory.limit_in_bytes': '9223372036854771712\n' }, 24 * GiB);
  assert.equal(unlimited.memory_stats.limit, 24 * GiB);
  assert.deepEqual(statsFromV1({ ...V1_FILES, 'pids.max': 'max\n' }, 0).pids_stats, { current: 1 });
});

test('v2 stats JSON', () => {
  const files: StatFiles = {
    'cpu.stat': 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 700\n',
    'memory.current': '1048576\n', 'memory.max': 'max\n',
    'memory.stat': 'anon 4096\nfile 8192\ninactive_file 4096\nworkingset_refault_anon 0\npgfault 3\n',
    'memory.events': 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n',
    'pids.current': '3\n', 'pids.max': 'max\n',
    'io.stat': '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n',
  };
  const p = statsFromV2(files, 8 * GiB);
  assert.deepEqual(p.cpu_stats, {
    cpu_usage: { total_usage: 2_000_000, usage_in_kernelmode: 500_000, usage_in_usermode: 1_500_000 },
    throttling_data: { periods: 10, throttled_periods: 3, throttled_time: 700_000 },
  });
  assert.equal(p.memory_stats.limit, 8 * GiB);
  assert.equal(p.memory_stats.failcnt, 1);
  assert.equal(Object.keys(p.memory_stats.stats!).length, 31);
  assert.equal(p.memory_stats.stats!.workingset_refault, 0);
  assert.deepEqual(p.pids_stats, { current: 3 });
  assert.deepEqual(p.blkio_stats.io_service_bytes_recursive, [{ major: 8, minor: 0, op: 'read', value: 4096 }, { major: 8, minor: 0, op: 'write', value: 8192 }]);
  assert.equal(p.blkio_stats.io_serviced_recursive, null);
  assert.equal(parseIoStatV2(''), null);
  assert.equal(statsFromV2({ ...files, 'memory.max': '67108864\n' }, 8 * GiB).memory_stats.limit, 64 * MiB);
});

test('a stopped container\'s stats are Docker\'s empty object', () => {
  // captured from dockerd 20.10 for a created container
  const docker = '{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{},"name":"/c1","id":"65d23c396d1789c6753a1f7c45ec8339d6f1ad1193d3604b3207be2e13f92712"}';
  assert.equal(stringifyStats(emptyStats('/c1', '65d23c396d1789c6753a1f7c45ec8339d6f1ad1193d3604b3207be2e13f92712')), docker);
});

test('parsers: /proc/stat, net/dev, blkio lines, timestamps', () => {
  assert.deepEqual(parseProcStat(PROC_STAT), { systemUsage: 41590880000000, onlineCpus: 2 });
  assert.equal(parseNetDev(NET_DEV.split('\n').slice(0, 3).join('\n')), undefined); // loopback only: no networks
  assert.deepEqual(parseBlkioV1('8:16 252 \nTotal 9\n'), [{ major: 8, minor: 16, op: '', value: 252 }]);
  assert.equal(rfc3339Nano(1_000_000_000n), '1970-01-01T00:00:01Z');
  assert.equal(rfc3339Nano(1_500_000_000n), '1970-01-01T00:00:01.5Z');
});

// ------------------------------------------------------------------------------------------ CLI math and table

test('the docker CLI\'s figures: CPU %, memory without cache, I/O sums', () => {
  // a stream=false answer of dockerd for a container at 50 % of one CPU on a 2-CPU host
  const s = {
    name: '/cpu1', id: 'c141371255e3c36caed6315451178dd0f45a2934b1f9530e80fd0e0a2913c738',
    cpu_stats: { cpu_usage: { total_usage: 1_500_000_000 }, system_cpu_usage: 12_000_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000_000 }, system_cpu_usage: 10_000_000_000 },
    memory_stats: { usage: 22134784, stats: { total_inactive_file: 20971520 }, limit: 25276026880 },
    pids_stats: { current: 1 },
    networks: { eth0: { rx_bytes: 1672, tx_bytes: 578 }, eth1: { rx_bytes: 1000, tx_bytes: 0 } },
    blkio_stats: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }, { major: 8, minor: 0, op: 'write', value: 2_500_000 }, { major: 8, minor: 0, op: 'Total', value: 1 }] },
  };
  assert.equal(cpuPercent(s), 50);
  assert.equal(cpuPercent({ ...s, precpu_stats: undefined }), (1.5e9 / 12e9) * 2 * 100);
  assert.equal(memoryUsage(s.memory_stats), 1163264);
  assert.equal(memoryUsage({ usage: 100, stats: { inactive_file: 40 } }), 60);
  const e = entryFrom('cpu1', s);
  const row = new StatsContext(e, true);
  assert.equal(row.ID(), 'c141371255e3');
  assert.equal(row.Name(), 'cpu1');
  assert.equal(row.CPUPerc(), '50.00%');
  assert.equal(row.MemUsage(), '1.109MiB / 23.54GiB');
  assert.equal(row.MemPerc(), '0.00%');
  assert.equal(row.NetIO(), '2.67kB / 578B');
  assert.equal(row.BlockIO(), '4.1kB / 2.5MB');
  assert.equal(row.PIDs(), '1');
  const invalid = new StatsContext({ ...e, invalid: true }, false);
  assert.deepEqual([invalid.CPUPerc(), invalid.MemUsage(), invalid.NetIO(), invalid.PIDs()], ['--', '-- / --', '--', '--']);
  // the table as docker prints it (dockerd's answer for an idle container limited to 32 MiB)
  const idle = entryFrom('s1', { name: '/s1', id: '3371b55a4667446ccf1f9b846f3239828cd427f23ce49fe873c0aaf28edf0386', memory_stats: { usage: 344064, stats: { total_inactive_file: 0 }, limit: 33554432 }, pids_stats: { current: 1 }, cpu_stats: {}, precpu_stats: {} });
  assert.equal(writeFormatted(DEFAULT_STATS_FORMAT, [new StatsContext(idle, true)], statsHeaders),
    'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n'
    + '3371b55a4667   s1        0.00%     336KiB / 32MiB      1.03%     0B / 0B   0B / 0B     1\n');
  assert.equal(writeFormatted('{{json .}}', [new StatsContext(idle, true)], statsHeaders),
    '{"BlockIO":"0B / 0B","CPUPerc":"0.00%","Container":"s1","ID":"3371b55a4667","MemPerc":"1.03%","MemUsage":"336KiB / 32MiB","Name":"s1","NetIO":"0B / 0B","PIDs":"1"}\n');
});
