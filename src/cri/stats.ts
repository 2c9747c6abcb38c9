// ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats: CPU and memory from each container's
// cgroup (v1 or v2), the pod's from its parent cgroup, the pod's network counters from its namespace, and the
// writable layer's use from the container's upper directory.
import { promises as fs } from 'fs';
import { ContainerCgroup, readStatFiles, parseFlatKeyed, machineMemory } from '../runtime';
import { dirSize } from '../common/dir-size';
import type { CriContext } from './context';
import type { ContainerRecord, PodRecord } from './store';
import { nowNs } from './events';
import { labelsMatch } from './pods';

interface Sample { ns: bigint; cpu: bigint }

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);

export class CriStats {
  /** the previous CPU sample per cgroup, for usage_nano_cores */
  private last = new Map<string, Sample>();

  constructor(private readonly ctx: CriContext) {}

  private async usage(cgroupPath: string, timestamp: string): Promise<{ cpu: Record<string, unknown>; memory: Record<string, unknown>; pids: number }> {
    const cg = new ContainerCgroup(cgroupPath);
    const { v2, files } = await readStatFiles(cg).catch(() => ({ v2: false, files: {} as Record<string, string | undefined> }));
    let cpuNs = 0n;
    let usage = 0; let workingSet = 0; let rss = 0; let pgfault = 0; let pgmajfault = 0; let limit = 0; let pids = 0;
    if (v2) {
      const cpu = parseFlatKeyed(files['cpu.stat']);
      cpuNs = BigInt(num(cpu.get('usage_usec'))) * 1000n;
      const mem = parseFlatKeyed(files['memory.stat']);
      usage = Number(files['memory.current'] ?? 0) || 0;
      workingSet = Math.max(0, usage - num(mem.get('inactive_file')));
      rss = num(mem.get('anon'));
      pgfault = num(mem.get('pgfault')); pgmajfault = num(mem.get('pgmajfault'));
      const max = (files['memory.max'] ?? '').trim();
      limit = max && max !== 'max' ? Number(max) : 0;
    } else {
      cpuNs = BigInt((files['cpuacct.usage'] ?? '0').trim() || '0');
      const mem = parseFlatKeyed(files['memory.stat']);
      usage = Number(files['memory.usage_in_bytes'] ?? 0) || 0;
      workingSet = Math.max(0, usage - num(mem.get('total_inactive_file')));
      rss = num(mem.get('total_rss'));
      pgfault = num(mem.get('total_pgfault')); pgmajfault = num(mem.get('total_pgmajfault'));
      limit = Number(files['memory.limit_in_bytes'] ?? 0) || 0;
    }
    pids = Number(files['pids.current'] ?? 0) || 0;
    const now = BigInt(timestamp);
    const prev = this.last.get(cgroupPath);
    this.last.set(cgroupPath, { ns: now, cpu: cpuNs });
    const cores = prev && now > prev.ns && cpuNs >= prev.cpu ? ((cpuNs - prev.cpu) * 1_000_000_000n) / (now - prev.ns) : undefined;
    const machine = machineMemory();
    const available = limit > 0 && limit < machine ? Math.max(0, limit - workingSet) : Math.max(0, machine - workingSet);
    return {
      cpu: { timestamp, usage_core_nano_seconds: { value: cpuNs.toString() }, usage_nano_cores: cores !== undefined ? { value: cores.toString() } : null },
      memory: {
        timestamp, working_set_bytes: { value: workingSet }, available_bytes: { value: available }, usage_bytes: { value: usage },
        rss_bytes: { value: rss }, page_faults: { value: pgfault }, major_page_faults: { value: pgmajfault },
      },
      pids,
    };
  }

  async container(c: ContainerRecord): Promise<Record<string, unknown>> {
    const pod = this.ctx.store.pods.get(c.podId);
    const timestamp = nowNs();
    const { cpu, memory } = c.state === 'running' && pod
      ? await this.usage(`${pod.cgroupParent}/${c.id}`, timestamp)
      : { cpu: { timestamp, usage_core_nano_seconds: { value: 0 }, usage_nano_cores: { value: 0 } }, memory: { timestamp, working_set_bytes: { value: 0 } } };
    const upper = this.ctx.layout.rootfs(c.id).upper;
    const used = await dirSize(upper).catch(() => 0);
    return {
      attributes: { id: c.id, metadata: c.config.metadata, labels: c.config.labels ?? {}, annotations: c.config.annotations ?? {} },
      cpu, memory,
      writable_layer: { timestamp, fs_id: { mountpoint: this.ctx.layout.rootfsDir(c.id) }, used_bytes: { value: used }, inodes_used: { value: 0 } },
    };
  }

  async listContainers(filter: { id?: string; pod_sandbox_id?: string; label_selector?: Record<string, string> } | null): Promise<Record<string, unknown>[]> {
    const list = [...this.ctx.store.containers.values()].filter((c) =>
      (!filter?.id || c.id.startsWith(filter.id)) && (!filter?.pod_sandbox_id || c.podId.startsWith(filter.pod_sandbox_id))
      && labelsMatch(c.config.labels ?? {}, filter?.label_selector));
    return Promise.all(list.map((c) => this.container(c)));
  }

  async pod(p: PodRecord): Promise<Record<string, unknown>> {
    const timestamp = nowNs();
    const ready = p.state === 'ready';
    const u = ready ? await this.usage(p.cgroupParent, timestamp) : undefined;
    const containers = await Promise.all(this.ctx.store.containersOf(p.id).map((c) => this.container(c)));
    return {
      attributes: { id: p.id, metadata: p.config.metadata, labels: p.config.labels ?? {}, annotations: p.config.annotations ?? {} },
      linux: {
        cpu: u?.cpu ?? { timestamp }, memory: u?.memory ?? { timestamp },
        network: ready ? await this.network(p, timestamp) : null,
        process: { timestamp, process_count: { value: u?.pids ?? 0 } },
        containers,
      },
    };
  }

  async listPods(filter: { id?: string; label_selector?: Record<string, string> } | null): Promise<Record<string, unknown>[]> {
    const list = [...this.ctx.store.pods.values()].filter((p) => (!filter?.id || p.id.startsWith(filter.id)) && labelsMatch(p.config.labels ?? {}, filter?.label_selector));
    return Promise.all(list.map((p) => this.pod(p)));
  }

  /** The pod's interfaces, read from /proc/<pause>/net/dev (the pause lives in the pod's network namespace). */
  private async network(p: PodRecord, timestamp: string): Promise<Record<string, unknown> | null> {
    if (p.hostNetwork || p.pausePid <= 0) return null;
    const text = await fs.readFile(`/proc/${p.pausePid}/net/dev`, 'utf8').catch(() => '');
    const interfaces: Array<Record<string, unknown>> = [];
    for (const line of text.split('\n').slice(2)) {
      const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
      if (!m || m[1] === 'lo') continue;
      const f = m[2].trim().split(/\s+/).map(Number);
      interfaces.push({ name: m[1], rx_bytes: { value: f[0] }, rx_errors: { value: f[2] }, tx_bytes: { value: f[8] }, tx_errors: { value: f[10] } });
    }
    const def = interfaces.find((i) => i.name === (p.cni?.ifName ?? 'eth0')) ?? interfaces[0] ?? null;
    return { timestamp, default_interface: def, interfaces };
  }
}
