// `update` (resource limits and restart policy of existing containers) and `stats` (their live resource usage),
// with docker's flags, output and exit statuses.
import type { IncomingMessage } from 'http';
import { CommandSpec, FlagTuple, Parsed, StatusError, flagDefs, parseGoInt } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { JsonStreamParser } from '../../client/jsonstream';
import type { StatsResponse } from '../../client/types';
import { ramInBytes } from '../format/units';
import { writeFormatted, FormatError } from '../format/formatter';
import { StatsContext, StatsEntry, emptyEntry, entryFrom, statsFormat, statsHeaders } from '../format/stats';
import { parseCpus } from './opts';
import { FORMAT_HELP } from './ps';

const UPDATE_FLAGS: FlagTuple[] = [
  ['', 'blkio-weight', 'uint16', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)'],
  ['', 'cpu-period', 'int64', 'Limit CPU CFS (Completely Fair Scheduler) period'],
  ['', 'cpu-quota', 'int64', 'Limit CPU CFS (Completely Fair Scheduler) quota'],
  ['', 'cpu-rt-period', 'int64', 'Limit the CPU real-time period in microseconds'],
  ['', 'cpu-rt-runtime', 'int64', 'Limit the CPU real-time runtime in microseconds'],
  ['c', 'cpu-shares', 'int64', 'CPU shares (relative weight)'],
  ['', 'cpus', 'decimal', 'Number of CPUs'],
  ['', 'cpuset-cpus', 'string', 'CPUs in which to allow execution (0-3, 0,1)'],
  ['', 'cpuset-mems', 'string', 'MEMs in which to allow execution (0-3, 0,1)'],
  ['', 'kernel-memory', 'bytes', 'Kernel memory limit (deprecated)', '', 'hidden'],
  ['m', 'memory', 'bytes', 'Memory limit'],
  ['', 'memory-reservation', 'bytes', 'Memory soft limit'],
  ['', 'memory-swap', 'memswap', 'Swap limit equal to memory plus swap: -1 to enable unlimited swap'],
  ['', 'pids-limit', 'int64', 'Tune container pids limit (set -1 for unlimited)'],
  ['', 'restart', 'string', 'Restart policy to apply when a container exits'],
];

const STATS_FLAGS: FlagTuple[] = [
  ['a', 'all', 'bool', 'Show all containers (default shows just running)'],
  ['', 'format', 'string', FORMAT_HELP],
  ['', 'no-stream', 'bool', 'Disable streaming stats and only pull the first result'],
  ['', 'no-trunc', 'bool', 'Do not truncate output'],
];

export function command(id: string): Cmd {
  const name = id.replace(/^container /, '');
  if (name === 'update') {
    const spec: CommandSpec = {
      path: id, use: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Update configuration of one or more containers',
      aliases: 'berth container update, berth update', flags: flagDefs(UPDATE_FLAGS), args: { min: 1 },
    };
    return { spec, validators: { 'memory-swap': (v) => { if (v !== '-1') ramInBytes(v); return v; } }, run: runUpdate };
  }
  if (name === 'stats') {
    const spec: CommandSpec = {
      path: id, use: '[OPTIONS] [CONTAINER...]', short: 'Display a live stream of container(s) resource usage statistics',
      aliases: 'berth container stats, berth stats', flags: flagDefs(STATS_FLAGS),
    };
    return { spec, run: runStats };
  }
  throw new Error(`unknown command ${id}`);
}

// ------------------------------------------------------------------------------------------ update

/** opts.ParseRestartPolicy: "on-failure:3" → {Name, MaximumRetryCount}. */
function parseRestartPolicy(v: string): { Name: string; MaximumRetryCount: number } {
  const i = v.indexOf(':');
  const name = i >= 0 ? v.slice(0, i) : v;
  const count = i >= 0 ? v.slice(i + 1) : '';
  if (i >= 0 && name === '') throw new StatusError(1, 'invalid restart policy format: no policy provided before colon');
  if (count !== '' && !/^[+-]?\d+$/.test(count)) throw new StatusError(1, 'invalid restart policy format: maximum retry count must be an integer');
  return { Name: name, MaximumRetryCount: count === '' ? 0 : parseInt(count, 10) };
}

/** The update body the docker CLI sends: every resource field (zero means "leave as is"), PidsLimit only when given. */
export function updateBody(p: Parsed): Record<string, unknown> {
  const bytes = (n: string) => (p.str(n) ? ramInBytes(p.str(n)) : 0);
  const i64 = (n: string) => (p.str(n) ? parseGoInt(p.str(n)) : 0);
  const swap = p.str('memory-swap');
  const pids = i64('pids-limit');
  const restart = p.str('restart');
  return {
    BlkioWeight: i64('blkio-weight'),
    CpusetCpus: p.str('cpuset-cpus'),
    CpusetMems: p.str('cpuset-mems'),
    CpuShares: i64('cpu-shares'),
    Memory: bytes('memory'),
    MemoryReservation: bytes('memory-reservation'),
    MemorySwap: swap === '-1' ? -1 : swap ? ramInBytes(swap) : 0,
    KernelMemory: bytes('kernel-memory'),
    CpuPeriod: i64('cpu-period'),
    CpuQuota: i64('cpu-quota'),
    CpuRealtimePeriod: i64('cpu-rt-period'),
    CpuRealtimeRuntime: i64('cpu-rt-runtime'),
    NanoCpus: p.str('cpus') ? parseCpus(p.str('cpus')) : 0,
    ...(pids !== 0 ? { PidsLimit: pids } : {}),
    RestartPolicy: restart ? parseRestartPolicy(restart) : { Name: '', MaximumRetryCount: 0 },
  };
}

async function runUpdate(ctx: Ctx, p: Parsed): Promise<number> {
  if (p.changed.size === 0) throw new StatusError(1, 'you must provide one or more flags when using this command');
  const body = updateBody(p);
  const warnings: string[] = [];
  const errors: string[] = [];
  // one after the other, in argument order, like docker
  for (const c of p.args) {
    try {
      const r = await ctx.client().containerUpdate(c, body);
      ctx.out(c + '\n');
      warnings.push(...(r?.Warnings ?? []));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (warnings.length) ctx.out(warnings.join('\n') + '\n');
  if (errors.length) throw new StatusError(1, errors.join('\n'));
  return 0;
}

// ------------------------------------------------------------------------------------------ stats

/** How long a row may go without a sample before it shows "--" (the docker CLI's rule). */
const STALE_MS = 2000;
const REFRESH_MS = 500;

class Row {
  entry: StatsEntry;
  err?: Error;
  res?: IncomingMessage;
  private watchdog?: NodeJS.Timeout;
  private gotFirst!: () => void;
  readonly first = new Promise<void>((r) => { this.gotFirst = r; });
  closed = false;

  constructor(readonly container: string) { this.entry = emptyEntry(container); }

  /** Follows the container's stats stream (or fetches one answer). Resolves `first` at the first sample or failure. */
  async collect(ctx: Ctx, stream: boolean): Promise<void> {
    this.arm();
    try {
      this.res = await ctx.client().containerStats(this.container, stream);
    } catch (err) {
      this.fail(err as Error, false);
      return;
    }
    if (this.closed) { this.res.destroy(); return; }
    const parser = new JsonStreamParser((v) => {
      this.entry = entryFrom(this.container, v as StatsResponse);
      this.err = undefined;
      this.arm();
      this.gotFirst();
      if (!stream) this.close();
    });
    this.res.on('data', (chunk: Buffer) => { try { parser.push(chunk); } catch (err) { this.fail(err as Error, false); } });
    this.res.on('end', () => { if (!this.closed) this.fail(new Error('EOF'), false); });
    this.res.on('error', (err) => { if (!this.closed) this.fail(err, false); });
  }

  private arm(): void {
    clearTimeout(this.watchdog);
    if (this.closed) return;
    this.watchdog = setTimeout(() => this.fail(new Error('timeout waiting for stats'), true), STALE_MS);
    this.watchdog.unref();
  }

  private fail(err: Error, reset: boolean): void {
    this.err = err;
    if (reset) this.entry = { ...emptyEntry(this.container), invalid: true };
    else this.entry = { ...this.entry, invalid: true };
    clearTimeout(this.watchdog);
    this.gotFirst();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.watchdog);
    this.res?.destroy();
  }
}

function render(rows: Row[], format: string, trunc: boolean): string {
  try {
    return writeFormatted(format, rows.map((r) => new StatsContext(r.entry, trunc)), statsHeaders);
  } catch (err) {
    if (err instanceof FormatError) throw new StatusError(1, err.message);
    throw err;
  }
}

async function runStats(ctx: Ctx, p: Parsed): Promise<number> {
  const noStream = p.bool('no-stream');
  const all = p.bool('all');
  const trunc = !p.bool('no-trunc');
  const format = statsFormat(p.str('format'));
  const showAll = p.args.length === 0;
  const client = ctx.client();
  const rows: Row[] = [];
  const add = (container: string) => {
    if (rows.some((r) => r.container === container)) return;
    const row = new Row(container);
    rows.push(row);
    void row.collect(ctx, !noStream);
  };
  const remove = (container: string) => {
    const i = rows.findIndex((r) => r.container === container);
    if (i >= 0) rows.splice(i, 1)[0].close();
  };

  let events: IncomingMessage | undefined;
  if (showAll) {
    // Subscribe before listing, so a container started in between is not missed.
    if (!noStream) {
      events = await client.events({ filters: JSON.stringify({ type: { container: true } }) });
      const parser = new JsonStreamParser((v) => {
        const e = v as { Action?: string; status?: string; Actor?: { ID?: string }; id?: string };
        const action = e.Action ?? e.status ?? '';
        const cid = (e.Actor?.ID ?? e.id ?? '').slice(0, 12);
        if (!cid) return;
        if (action === 'start' || (action === 'create' && all)) add(cid);
        else if (action === 'die' && !all) remove(cid);
      });
      events.on('data', (chunk: Buffer) => parser.push(chunk));
    }
    const list = await client.containerList({ all: all ? '1' : undefined });
    for (const c of list ?? []) add(c.Id.slice(0, 12));
  } else {
    for (const c of p.args) add(c);
  }
  await Promise.all(rows.map((r) => r.first));
  if (!showAll) {
    const errs = rows.filter((r) => r.err).map((r) => r.err!.message);
    if (errs.length) {
      for (const r of rows) r.close();
      throw new StatusError(1, errs.join('\n'));
    }
  }

  if (noStream) {
    if (rows.length) ctx.out(render(rows, format, trunc));
    for (const r of rows) r.close();
    return 0;
  }

  // Live: redraw from the top-left every half second; each line and the rest of the screen are cleared so a
  // shorter frame leaves nothing of the previous one.
  return new Promise<number>((resolve, reject) => {
    const tick = () => {
      if (!rows.length && !showAll) {
        ctx.out('\x1b[H\x1b[J');
        clearInterval(timer);
        events?.destroy();
        resolve(0);
        return;
      }
      let text: string;
      try {
        text = render(rows, format, trunc);
      } catch (err) {
        clearInterval(timer);
        for (const r of rows) r.close();
        events?.destroy();
        reject(err);
        return;
      }
      let frame = '\x1b[H';
      for (const line of text.split('\n')) frame += line + '\x1b[K\n';
      ctx.out(frame + '\x1b[J');
    };
    const timer = setInterval(tick, REFRESH_MS);
    events?.on('end', () => { clearInterval(timer); for (const r of rows) r.close(); resolve(0); });
  });
}
