// `stats`: the figures the docker CLI derives from a stats JSON object (CPU % from the cpu/precpu pair, memory
// without the inactive file cache, summed network and block I/O) and the row context its table and --format use.
import type { StatsResponse } from '../../client/types';
import { formatFloat } from './gofmt';
import { bytesSize, humanSizeWithPrecision } from './units';
import { headerContext, truncateId } from './formatter';

/** One row's numbers (StatsEntry in the docker CLI). */
export interface StatsEntry {
  container: string;
  name: string;
  id: string;
  cpuPercent: number;
  memory: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
  /** no answer (yet), or the last one failed: the row shows "--" */
  invalid: boolean;
}

export const emptyEntry = (container: string): StatsEntry => ({
  container, name: '', id: '', cpuPercent: 0, memory: 0, memoryLimit: 0, memoryPercent: 0, netRx: 0, netTx: 0,
  blockRead: 0, blockWrite: 0, pids: 0, invalid: false,
});

/** CPU % of the host's capacity: the container's CPU time over the host's, times the number of CPUs. */
export function cpuPercent(s: StatsResponse): number {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  let online = s.cpu_stats?.online_cpus ?? 0;
  if (!online) online = s.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** Memory in use without the page cache that can be dropped (v1 total_inactive_file, v2 inactive_file). */
export function memoryUsage(m: StatsResponse['memory_stats']): number {
  const usage = m?.usage ?? 0;
  const v1 = m?.stats?.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = m?.stats?.inactive_file ?? 0;
  if (v2 < usage) return usage - v2;
  return usage;
}

/** A stats JSON object → the row's numbers. */
export function entryFrom(container: string, s: StatsResponse): StatsEntry {
  const mem = memoryUsage(s.memory_stats);
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0, tx = 0;
  for (const n of Object.values(s.networks ?? {})) { rx += n.rx_bytes ?? 0; tx += n.tx_bytes ?? 0; }
  let read = 0, write = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const c = e.op?.[0];
    if (c === 'r' || c === 'R') read += e.value;
    else if (c === 'w' || c === 'W') write += e.value;
  }
  return {
    container, name: s.name ?? '', id: s.id ?? '', cpuPercent: cpuPercent(s), memory: mem, memoryLimit: limit,
    memoryPercent: limit !== 0 ? (mem / limit) * 100 : 0, netRx: rx, netTx: tx, blockRead: read, blockWrite: write,
    pids: s.pids_stats?.current ?? 0, invalid: false,
  };
}

const percent = (v: number) => formatFloat(v, 'f', 2) + '%';

/** The fields `stats --format` offers (statsContext). */
export class StatsContext {
  get goType(): string { return '*container.statsContext'; }
  constructor(private s: StatsEntry, private trunc: boolean) {}
  Container(): string { return this.s.container; }
  Name(): string { return this.s.name.length > 1 ? this.s.name.slice(1) : '--'; }
  ID(): string { return this.trunc ? truncateId(this.s.id) : this.s.id; }
  CPUPerc(): string { return this.s.invalid ? '--' : percent(this.s.cpuPercent); }
  MemUsage(): string { return this.s.invalid ? '-- / --' : `${bytesSize(this.s.memory)} / ${bytesSize(this.s.memoryLimit)}`; }
  MemPerc(): string { return this.s.invalid ? '--' : percent(this.s.memoryPercent); }
  NetIO(): string { return this.s.invalid ? '--' : `${humanSizeWithPrecision(this.s.netRx, 3)} / ${humanSizeWithPrecision(this.s.netTx, 3)}`; }
  BlockIO(): string { return this.s.invalid ? '--' : `${humanSizeWithPrecision(this.s.blockRead, 3)} / ${humanSizeWithPrecision(this.s.blockWrite, 3)}`; }
  PIDs(): string { return this.s.invalid ? '--' : String(this.s.pids); }
  /** every field, keys sorted (what `{{json .}}` prints) */
  toJSON(): Record<string, string> {
    return {
      BlockIO: this.BlockIO(), CPUPerc: this.CPUPerc(), Container: this.Container(), ID: this.ID(), MemPerc: this.MemPerc(),
      MemUsage: this.MemUsage(), Name: this.Name(), NetIO: this.NetIO(), PIDs: this.PIDs(),
    };
  }
}

export const statsHeaders = headerContext({
  Container: 'CONTAINER', Name: 'NAME', ID: 'CONTAINER ID', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS',
});

export const DEFAULT_STATS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/** NewStatsFormat: "table" (or nothing) is the default table. */
export const statsFormat = (source: string) => (source === '' || source === 'table' ? DEFAULT_STATS_FORMAT : source);
