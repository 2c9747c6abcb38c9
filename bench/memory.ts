// Memory benchmark: the daemons' resident memory beside Debian's dockerd (docker.io; dockerd + its containerd,
// without the shims, which are counted per container), both driven by the same docker CLI. Issue 15's targets:
// daemon RSS ≤ 50 MiB idle and ≤ 70 MiB with 100 running containers; ≤ 0.2 MiB shim PSS per running container.
// berth gives memory back once its API has been quiet for a few seconds (src/daemon/compact.ts), so each state is
// read twice: right after the last request ("busy", 1-2 s later) and once the daemon has compacted ("idle").
// A second berth daemon with compaction off (BERTH_IDLE_COMPACT_MS=0) gives the figures without it, in the same run.
// PSS is printed beside RSS: about half of an idle Node daemon's RSS is the node binary's clean pages, which are
// shared through the page cache with every Node process; RSS counts them in full, PSS only in part. And since
// compaction must not cost the next command, `run --rm` and `exec` are timed back to back and as the first command after a quiet period.
// Mirrors: `docker run --rm --network none busybox true`, `docker exec <c> true`, `docker run -d … sleep`.
// BENCH_REPS (20: back-to-back runs), BENCH_QUIET_REPS (20: runs after a quiet period), BENCH_MEM_CONTAINERS
// (100), BENCH_IDLE_MS (35000: the idle reading after use, past the unpack workers' 30 s) make it shorter for
// CI's smoke run.
import { TestDaemon, sleep, type RunResult } from '../test/helpers/daemon';
import { Dockerd, descendants, loadAverage, median, must, pidsWithArg, pssKiB, report, rssKiB, timed } from './lib';

const int = (name: string, def: number) => parseInt(process.env[name] ?? String(def), 10);
const REPS = int('BENCH_REPS', 20);
const QUIET_REPS = int('BENCH_QUIET_REPS', 20);
const MEM_N = int('BENCH_MEM_CONTAINERS', 100);
const IDLE_MS = int('BENCH_IDLE_MS', 35_000);
/** the daemon's quiet period before it compacts (src/daemon/daemon.ts IDLE_COMPACT_MS), and some margin */
const QUIET_MS = 5_000 + 1_500;

type Cli = (args: string[]) => Promise<RunResult>;
const targets: string[] = [];
const target = (what: string, value: number, limit: number, unit: string) =>
  targets.push(`${what.padEnd(58)} ${value.toFixed(2).padStart(8)} ${unit} <= ${limit.toFixed(2)} ${unit}: ${value <= limit ? 'met' : 'NOT met'}`);

const mib = (kib: number) => kib / 1024;
/** The compactions berth's debug log reports (each line carries the RSS before and after). */
const compactions = (d: TestDaemon) => d.log.split('\n').filter((l) => l.includes('idle: memory compacted')).length;

async function startMany(cli: Cli, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await must(cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'run -d')).stdout.trim());
  return ids;
}

async function main(): Promise<void> {
  // speedmem's own bridge and subnet (10.68.x, bm*): other benchmarks and tests may run on this machine meanwhile
  const berth = new TestDaemon('bench-mem', { bridge: `bm${process.pid % 100000}`, subnet: `10.68.${process.pid % 250}.0/24` });
  berth.extraArgs = ['-D']; // the compaction lines in its log
  const off = new TestDaemon('bench-mem-off', { bridge: `bm${process.pid % 100000}n`, subnet: `10.68.${(process.pid + 1) % 250}.0/24` });
  off.env = { BERTH_IDLE_COMPACT_MS: '0' };
  const dockerd = new Dockerd();
  try {
    await berth.start();
    await off.start();
    await dockerd.start();
    const bPid = berth.proc!.pid!;
    const oPid = off.proc!.pid!;
    const dPid = dockerd.proc!.pid!;
    const dPids = () => {
      const shims = new Set(pidsWithArg('containerd-shim', dockerd.dir));
      return [dPid, ...descendants(dPid).filter((p) => !shims.has(p))];
    };
    type Mem = { rss: number; pss: number };
    const memB = (): Mem => ({ rss: mib(rssKiB(bPid)), pss: mib(pssKiB(bPid)) });
    const memO = (): Mem => ({ rss: mib(rssKiB(oPid)), pss: mib(pssKiB(oPid)) });
    const memD = (): Mem => dPids().reduce((a, p) => ({ rss: a.rss + mib(rssKiB(p)), pss: a.pss + mib(pssKiB(p)) }), { rss: 0, pss: 0 });
    const rows = (what: string, b: Mem, d: Mem, o: Mem) => {
      report(`${what} RSS (MiB)`, b.rss, d.rss, 'dockerd+containerd');
      report(`${what} PSS (MiB)`, b.pss, d.pss, 'dockerd+containerd');
      report(`${what} RSS (MiB)`, b.rss, o.rss, 'berth, no compaction');
    };
    console.log(`# memory in MiB, times in ms (medians); load average ${loadAverage()}`);

    await sleep(1000);
    const freshB = memB(); const freshD = memD(); const freshO = memO();
    await sleep(QUIET_MS);
    rows('just started (1 s)', freshB, freshD, freshO);
    rows('just started, idle (compacted)', memB(), memD(), memO());

    await berth.loadBusybox();
    await off.loadBusybox();
    await dockerd.loadBusybox();
    const loadedAt = Date.now();
    const bDocker: Cli = (a) => berth.docker(a);
    const dDocker: Cli = (a) => dockerd.docker(a);
    const oDocker: Cli = (a) => off.docker(a);
    const none = ['run', '--rm', '--network', 'none', 'busybox', 'true'];
    const bc = (await must(bDocker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'berth run -d')).stdout.trim();
    const dc = (await must(dDocker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'docker run -d')).stdout.trim();
    const oc = (await must(oDocker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'berth run -d')).stdout.trim();
    const kinds = ['B', 'O', 'D'] as const;
    const clis = { B: bDocker, O: oDocker, D: dDocker };
    const ctr = { B: bc, O: oc, D: dc };
    const times = () => ({ run: { B: [] as number[], O: [] as number[], D: [] as number[] }, exec: { B: [] as number[], O: [] as number[], D: [] as number[] } });
    // back to back: the daemons never go quiet, so berth never compacts meanwhile
    const busy = times();
    const beforeBusy = compactions(berth);
    for (let i = 0; i < REPS; i++) {
      // the order turns round each time: whoever runs right after dockerd's command meets a busier machine
      const order = i % 2 ? [...kinds].reverse() : kinds;
      for (const k of order) busy.run[k].push(await timed(() => must(clis[k](none), `run ${k}`)));
      for (const k of order) busy.exec[k].push(await timed(() => must(clis[k](['exec', ctr[k], 'true']), `exec ${k}`)));
    }
    const afterUse = { B: memB(), O: memO(), D: memD() };
    const duringBusy = compactions(berth) - beforeBusy;
    // the first command after a quiet period: berth has compacted before each one (the other berth has not)
    const quiet = times();
    const before = compactions(berth);
    for (let i = 0; i < QUIET_REPS; i++) {
      // the order turns round each time: the first command after a pause meets a colder machine
      const order = i % 2 ? [...kinds].reverse() : kinds;
      await sleep(QUIET_MS);
      for (const k of order) quiet.run[k].push(await timed(() => must(clis[k](none), `run ${k}`)));
      await sleep(QUIET_MS);
      for (const k of order) quiet.exec[k].push(await timed(() => must(clis[k](['exec', ctr[k], 'true']), `exec ${k}`)));
    }
    for (const [what, t] of [['back to back', busy], ['after quiet', quiet]] as const) {
      report(`run --rm --network none, ${what} (ms)`, median(t.run.B), median(t.run.D), 'dockerd');
      report(`run --rm --network none, ${what} (ms)`, median(t.run.B), median(t.run.O), 'berth, no compaction');
      report(`exec true, ${what} (ms)`, median(t.exec.B), median(t.exec.D), 'dockerd');
      report(`exec true, ${what} (ms)`, median(t.exec.B), median(t.exec.O), 'berth, no compaction');
    }
    console.log(`# berth compacted ${duringBusy} times during the back-to-back runs, ${compactions(berth) - before} times in ${2 * QUIET_REPS} quiet periods`);
    for (const k of kinds) await must(clis[k](['rm', '-f', ctr[k]]), 'rm -f');

    await sleep(Math.max(QUIET_MS, loadedAt + IDLE_MS - Date.now()));
    const idleB = memB(); const idleD = memD();
    rows('after use (1 s)', afterUse.B, afterUse.D, afterUse.O);
    rows('idle after use (compacted)', idleB, idleD, memO());
    target('daemon RSS idle after use (MiB)', idleB.rss, 50, 'MiB');

    // each daemon read 2 s after its own last start (berth would have compacted while the others started)
    const sb = await startMany(bDocker, MEM_N);
    await sleep(2000);
    const loadedB = memB();
    const so = await startMany(oDocker, MEM_N);
    await sleep(2000);
    const loadedO = memO();
    const sd = await startMany(dDocker, MEM_N);
    await sleep(2000);
    const loadedD = memD();
    const shimsB = pidsWithArg('berth-shim', berth.execRoot);
    const shimsD = pidsWithArg('containerd-shim', dockerd.dir);
    const perB = shimsB.reduce((a, p) => a + pssKiB(p), 0) / Math.max(1, shimsB.length) / 1024;
    const perD = shimsD.reduce((a, p) => a + pssKiB(p), 0) / Math.max(1, shimsD.length) / 1024;
    await sleep(QUIET_MS);
    const loadedIdleB = memB(); const loadedIdleD = memD();
    rows(`${MEM_N} running (2 s)`, loadedB, loadedD, loadedO);
    rows(`${MEM_N} running, idle (compacted)`, loadedIdleB, loadedIdleD, memO());
    report(`memory per running container (MiB, shim PSS, ${shimsB.length}/${shimsD.length})`, perB, perD, 'containerd-shim');
    report('daemon RSS growth per running container (MiB)', (loadedIdleB.rss - idleB.rss) / Math.max(1, MEM_N), (loadedIdleD.rss - idleD.rss) / Math.max(1, MEM_N), 'dockerd+containerd');
    target(`daemon RSS with ${MEM_N} running, 2 s after the last start (MiB)`, loadedB.rss, 70, 'MiB');
    target(`daemon RSS with ${MEM_N} running, idle (MiB)`, loadedIdleB.rss, 70, 'MiB');
    target('shim PSS per running container (MiB)', perB, 0.2, 'MiB');
    await must(bDocker(['rm', '-f', ...sb]), 'rm -f');
    await must(oDocker(['rm', '-f', ...so]), 'rm -f');
    await must(dDocker(['rm', '-f', ...sd]), 'rm -f');

    console.log(`# targets (issue 15); load average ${loadAverage()}`);
    for (const t of targets) console.log(t);
    const last = berth.log.split('\n').filter((l) => l.includes('idle: memory compacted')).pop();
    if (last) console.log(`# last compaction: ${last.replace(/^.*msg="[^"]*" /, '')}`);
  } finally {
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await off.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
