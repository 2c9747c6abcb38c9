// The berth CLI beside the docker CLI v28, both talking to the same berth daemon, so every difference is the
// CLI's own: start-up (`--version` talks to no daemon), `ps -a` with 200 containers, `images`, `inspect`, `logs`,
// `exec` and `run --rm`. Each row interleaves the two CLIs (sampleRounds) and prints medians of BENCH_REPS runs
// with the load average; targets from issue 15: `--version` <= 20 ms, ps -a <= 1.2x docker's, the others <= 1.1x.
// Beside the wall-clock medians, the medians of each CLI process's CPU time (user + system, all its threads, from
// bash's `time`): on a loaded machine the wall clock mostly measures the scheduler, the CPU time the CLI's work.
// The CLI measured is the one shipped: bin/berth (the Bun-built executable, or the Node launcher without Bun).
// BENCH_CLI_BEFORE=/path/to/another/bin/berth adds a column for an older build of the CLI (the before figure).
import * as os from 'os';
import { DOCKER, must, sampleRounds, median } from './lib';
import { TestDaemon, runCmd, BERTH, RunResult } from '../test/helpers/daemon';

const N = parseInt(process.env.BENCH_CONTAINERS ?? '200', 10);
const REPS = parseInt(process.env.BENCH_REPS ?? '20', 10);
const BEFORE = process.env.BENCH_CLI_BEFORE;

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** CPU time (user + system, ms) of one run of `file args`, from bash's `time` (children's rusage). */
async function cpuTime(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const r = await runCmd('bash', ['-c', 'TIMEFORMAT="%3U %3S"; { time "$@" >/dev/null 2>/dev/null; } 2>&1', '_', file, ...args], { env });
  const [u, sy] = r.stdout.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(u + sy)) throw new Error(`no time from bash: ${r.stdout} ${r.stderr}`);
  return (u + sy) * 1000;
}

interface Row { what: string; args: string[]; target: number | 'ms20' }

async function main(): Promise<void> {
  // the daemon keeps to this benchmark's own bridge and subnet (10.65.0.0/16, bridges named bs*)
  const d = new TestDaemon('bench-cli', { bridge: `bs${process.pid % 10000}`, subnet: `10.65.${process.pid % 250}.0/24` });
  const env = { BERTH_HOST: d.host, DOCKER_HOST: d.host, DOCKER_CONFIG: `${d.dir}/docker-config` };
  const cli = (file: string, args: string[]) => () => runCmd(file, args, { env }).then((r) => check(r, file, args));
  try {
    await d.start();
    await d.loadBusybox();
    for (let i = 0; i < N; i += 20) {
      await Promise.all(Array.from({ length: Math.min(20, N - i) }, (_, j) =>
        must(d.docker(['create', '--name', `c${i + j}`, '-p', '80', '--label', `n=${i + j}`, 'busybox', 'sleep', '1']), 'create')));
    }
    // a running container with some output, for exec, logs and inspect
    await must(d.docker(['run', '-d', '--name', 'keep', 'busybox', 'sh', '-c', 'seq 1 100; exec sleep 1d']), 'run -d');
    const rows: Row[] = [
      { what: '--version', args: ['--version'], target: 'ms20' },
      { what: `ps -a (${N + 1} containers)`, args: ['ps', '-a'], target: 1.2 },
      { what: 'images', args: ['images'], target: 1.1 },
      { what: 'inspect <running>', args: ['inspect', 'keep'], target: 1.1 },
      { what: 'logs <100 lines>', args: ['logs', 'keep'], target: 1.1 },
      { what: 'exec <c> true', args: ['exec', 'keep', 'true'], target: 1.1 },
      { what: 'run --rm --network none busybox true', args: ['run', '--rm', '--network', 'none', 'busybox', 'true'], target: 1.1 },
    ];
    console.log(`# berth CLI (${BERTH}) beside the docker CLI on one berth daemon; medians of ${REPS} interleaved runs, ms`);
    console.log(`${'command'.padEnd(38)} ${'berth'.padStart(7)} ${'docker'.padStart(7)}  ratio  target      ${BEFORE ? 'before  ' : ''}cpu: berth docker ${BEFORE ? 'before ' : ''}  load`);
    for (const row of rows) {
      const fns = [cli(BERTH, row.args), cli(DOCKER, row.args)];
      if (BEFORE) fns.push(cli(BEFORE, row.args));
      const [b, dk, before] = await sampleRounds(REPS, fns);
      const met = row.target === 'ms20' ? b <= 20 : b <= dk * row.target;
      const target = row.target === 'ms20' ? '<= 20 ms' : `<= ${row.target}x`;
      const files = BEFORE ? [BERTH, DOCKER, BEFORE] : [BERTH, DOCKER];
      const cpu: number[][] = files.map(() => []);
      for (let i = 0; i < REPS; i++) for (const [k, f] of files.entries()) cpu[k].push(await cpuTime(f, row.args, env));
      const cpuCols = cpu.map((xs) => median(xs).toFixed(1).padStart(6)).join('');
      console.log(`${row.what.padEnd(38)} ${b.toFixed(1).padStart(7)} ${dk.toFixed(1).padStart(7)}  ${(b / dk).toFixed(2).padStart(5)}  ${(target + (met ? ' met' : ' NOT')).padEnd(12)}` +
        `${BEFORE ? before.toFixed(1).padStart(6) + '  ' : ''}${cpuCols}    ${load()}`);
    }
  } finally {
    await d.stop().catch((e) => console.error(e));
  }
}

/** A failed command would time an error path: stop the benchmark instead. */
function check(r: RunResult, file: string, args: string[]): RunResult {
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}

main().catch((err) => { console.error(err); process.exit(1); });
