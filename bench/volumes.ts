// Volume benchmark: berth beside Debian's dockerd, both driven by the docker CLI with the offline busybox image, in
// the same run. Prints medians (interleaved rounds) and the berth/dockerd ratio for:
//   - `start -a` of a created container with no volumes and with 5 named volumes, and their difference: what 5
//     volumes add to a start (mount points, copy-up check, OCI mounts, mount events);
//   - the same with 5 tmpfs-type local volumes (a mount(2) and umount(2) of each per run);
//   - `run --rm` with 5 fresh anonymous volumes against none: creating, filling and removing them;
//   - raw `crun run` of a busybox bundle with 5 bind mounts against none: the runtime's share.
// The daemon runs with -D, so its own account of each start (rootfs, network, mounts, spec, runtime; "start step"
// lines) gives the engine-side cost of the volumes too, free of the CLI's and the machine's noise.
// Each difference is the median of per-round differences (the two variants run back to back, in alternating order),
// which holds up far better on a busy machine than a difference of two medians. Target: 5 named volumes add at
// most 5 ms to a start.
//
//   node build/bench/volumes.js          (BENCH_REPS=15)
import * as os from 'os';
import * as path from 'path';
import { mkdtempSync, mkdirSync, cpSync, readFileSync, writeFileSync, rmSync } from 'fs';
import { TestDaemon, RunResult, runCmd } from '../test/helpers/daemon';
import { Dockerd, median, must, report as printRow, timed } from './lib';

const REPS = parseInt(process.env.BENCH_REPS ?? '15', 10);
const TARGET_MS = 5;
const N = 5;

type Cli = (args: string[]) => Promise<RunResult>;
type Job = () => Promise<unknown>;

/** For each pair [base, variant]: medians of both and the median of their per-round differences. */
async function pairedRounds(n: number, pairs: Array<[Job, Job]>): Promise<Array<{ base: number; variant: number; diff: number }>> {
  for (const [a, b] of pairs) { await a(); await b(); }
  const xs = pairs.map(() => ({ base: [] as number[], variant: [] as number[], diff: [] as number[] }));
  for (let i = 0; i < n; i++) {
    for (const [k, [a, b]] of pairs.entries()) {
      const [ta, tb] = i % 2 === 0 ? [await timed(a), await timed(b)] : (([y, x]) => [x, y])([await timed(b), await timed(a)]);
      xs[k].base.push(ta);
      xs[k].variant.push(tb);
      xs[k].diff.push(tb - ta);
    }
  }
  return xs.map((x) => ({ base: median(x.base), variant: median(x.variant), diff: median(x.diff) }));
}

/** Creates the containers each engine starts over and over: none, N named volumes, N tmpfs-type volumes. */
async function prepare(cli: Cli, what: string): Promise<{ none: string; named: string; tmpfs: string }> {
  const vols: string[] = [];
  const tvols: string[] = [];
  for (let i = 1; i <= N; i++) {
    await must(cli(['volume', 'create', `bench-v${i}`]), `${what} volume create`);
    await must(cli(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', `bench-t${i}`]), `${what} tmpfs volume create`);
    vols.push('-v', `bench-v${i}:/v${i}`);
    tvols.push('-v', `bench-t${i}:/t${i}`);
  }
  const create = async (extra: string[]) => (await must(cli(['create', '--network', 'none', ...extra, 'busybox', 'true']), `${what} create`)).stdout.trim();
  return { none: await create([]), named: await create(vols), tmpfs: await create(tvols) };
}

/** Raw crun: the same busybox bundle with and without N bind mounts; paired medians. */
async function crunBinds(): Promise<{ base: number; variant: number; diff: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-crun-vol-'));
  try {
    for (const b of ['b0', 'b5']) {
      mkdirSync(path.join(dir, b, 'rootfs/bin'), { recursive: true });
      cpSync('/bin/busybox', path.join(dir, b, 'rootfs/bin/busybox'));
      await must(runCmd('sh', ['-c', `cd ${dir}/${b} && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\\/bin\\/busybox", "true"/' config.json`]), 'crun spec');
    }
    const cfg = JSON.parse(readFileSync(path.join(dir, 'b5/config.json'), 'utf8'));
    for (let i = 1; i <= N; i++) {
      mkdirSync(path.join(dir, `src${i}`));
      mkdirSync(path.join(dir, `b5/rootfs/v${i}`));
      cfg.mounts.push({ destination: `/v${i}`, type: 'bind', source: path.join(dir, `src${i}`), options: ['rbind'] });
    }
    writeFileSync(path.join(dir, 'b5/config.json'), JSON.stringify(cfg));
    let n = 0;
    const crun = (b: string) => () => must(runCmd('crun', ['run', '--bundle', path.join(dir, b), `bench-crun-vol-${process.pid}-${n++}`]), 'crun run');
    return (await pairedRounds(REPS, [[crun('b0'), crun('b5')]]))[0];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const berth = new TestDaemon('volbench');
  berth.extraArgs = ['-D'];
  const dockerd = new Dockerd();
  const b: Cli = (a) => berth.docker(a);
  const d: Cli = (a) => dockerd.docker(a);
  let stopping: Promise<void> | undefined;
  const cleanup = () => stopping ??= (async () => {
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  })();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { console.error(`\n${sig}: cleaning up`); void cleanup().finally(() => process.exit(130)); });
  }
  const report = (what: string, bv: number, dv: number) => printRow(what, bv, dv, 'dockerd');
  try {
    await berth.start();
    await berth.loadBusybox();
    await dockerd.start();
    await dockerd.loadBusybox();
    console.log(`# ${REPS} interleaved repetitions each, medians in ms; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const bc = await prepare(b, 'berth');
    const dc = await prepare(d, 'docker');
    const start = (cli: Cli, id: string, what: string) => () => must(cli(['start', '-a', id]), `${what} start`);

    const [bNamed, bTmpfs, dNamed, dTmpfs] = await pairedRounds(REPS, [
      [start(b, bc.none, 'berth'), start(b, bc.named, 'berth')], [start(b, bc.none, 'berth'), start(b, bc.tmpfs, 'berth')],
      [start(d, dc.none, 'docker'), start(d, dc.named, 'docker')], [start(d, dc.none, 'docker'), start(d, dc.tmpfs, 'docker')],
    ]);
    report('start -a, no volumes (ms)', bNamed.base, dNamed.base);
    report(`start -a, ${N} named volumes (ms)`, bNamed.variant, dNamed.variant);
    report(`${N} named volumes per start (ms)`, bNamed.diff, dNamed.diff);
    report(`start -a, ${N} tmpfs-type volumes (ms)`, bTmpfs.variant, dTmpfs.variant);
    report(`${N} tmpfs-type volumes per start (ms)`, bTmpfs.diff, dTmpfs.diff);
    const inDaemon = (id: string, step: string) => [...berth.log.matchAll(new RegExp(`msg="start step" id="${id.slice(0, 12)}" step="${step.replace('+', '\\+')}" ms=([\\d.]+)`, 'g'))].map((m) => Number(m[1]));
    const engine = (id: string) => median(inDaemon(id, 'shim-start'));
    const mountsStep = (id: string) => median(inDaemon(id, 'mounts').map((t, i) => t - inDaemon(id, 'rootfs+network')[i]));
    const engineCost = engine(bc.named) - engine(bc.none);
    console.log(`# berth's own start (ms, median, until the process runs): none ${engine(bc.none).toFixed(1)}, ${N} named ${engine(bc.named).toFixed(1)}, ${N} tmpfs-type ${engine(bc.tmpfs).toFixed(1)}`);
    console.log(`# berth's mount setup step (ms, median, incl. user lookup): none ${mountsStep(bc.none).toFixed(2)}, ${N} named ${mountsStep(bc.named).toFixed(2)}, ${N} tmpfs-type ${mountsStep(bc.tmpfs).toFixed(2)}`);

    const anon = Array.from({ length: N }, (_, i) => ['-v', `/a${i}`]).flat();
    const run = (cli: Cli, extra: string[], what: string) => () => must(cli(['run', '--rm', '--network', 'none', ...extra, 'busybox', 'true']), `${what} run`);
    const [bRun, dRun] = await pairedRounds(REPS, [[run(b, [], 'berth'), run(b, anon, 'berth')], [run(d, [], 'docker'), run(d, anon, 'docker')]]);
    report('run --rm, no volumes (ms)', bRun.base, dRun.base);
    report(`run --rm, ${N} anonymous volumes (ms)`, bRun.variant, dRun.variant);
    report(`${N} anonymous volumes per run (ms)`, bRun.diff, dRun.diff);

    const raw = await crunBinds();
    console.log(`# raw crun run: none ${raw.base.toFixed(1)} ms, ${N} binds ${raw.variant.toFixed(1)} ms, per-round difference ${raw.diff.toFixed(2)} ms`);

    const verdict = (ms: number) => `${ms.toFixed(1)} ms, ${ms <= TARGET_MS ? 'met' : 'NOT met'}`;
    const setupCost = mountsStep(bc.named) - mountsStep(bc.none);
    console.log(`# target: ${N} named volumes add <= ${TARGET_MS} ms to a start: end to end ${verdict(bNamed.diff)}; berth's whole start ${verdict(engineCost)}; `
      + `its mount setup ${verdict(setupCost)} + the runtime's ${verdict(raw.diff)}`);
  } finally {
    await cleanup();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
