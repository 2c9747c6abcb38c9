// Core benchmark: berth beside Debian's dockerd (docker.io) and raw crun, in the same run, both daemons driven
// by the same docker CLI. Mirrors `docker run --rm`, `docker exec`, `docker ps -a`, `docker run -d` and
// `docker rm -f`, and measures the daemons' memory. Prints medians, the berth/anchor ratios and issue 15's targets:
//   run --rm --network none ≤ raw `crun run` + 30 ms; on the bridge ≤ that + 10 ms; exec ≤ 0.4× dockerd;
//   ps -a with 200 containers ≤ 0.5× dockerd; rm -f of 50 running ≤ 0.15× dockerd;
//   daemon RSS ≤ 50 MiB idle and ≤ 70 MiB with 100 running; ≤ 0.2 MiB PSS per running container.
// BENCH_REPS (20), BENCH_CONTAINERS (50: detached starts, rm -f), BENCH_PS_CONTAINERS (200),
// BENCH_MEM_CONTAINERS (100: running when the loaded memory is read), BENCH_IDLE_MS (35000) make it shorter for
// CI's smoke run.
import { mkdtempSync, rmSync, mkdirSync, cpSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as os from 'os';
import { TestDaemon, runCmd, sleep, type RunResult } from '../test/helpers/daemon';
import { CannedServer } from './canned-server';
import { DOCKER, Dockerd, descendants, loadAverage, must, pidsWithArg, pssKiB, report, rssKiB, sampleRounds, timed } from './lib';

const int = (name: string, def: number) => parseInt(process.env[name] ?? String(def), 10);
const REPS = int('BENCH_REPS', 20);
const N = int('BENCH_CONTAINERS', 50);
const PS_N = int('BENCH_PS_CONTAINERS', 200);
const MEM_N = Math.max(N, int('BENCH_MEM_CONTAINERS', 100));
/** idle: this long after the last image load (unpack workers are kept warm for 30 s after use, then ended); by then
 * berth has compacted (src/daemon/compact.ts): bench/memory.ts shows each state before and after compaction */
const IDLE_MS = int('BENCH_IDLE_MS', 35_000);

type Cli = (args: string[]) => Promise<RunResult>;
const targets: string[] = [];
const target = (what: string, value: number, limit: number, unit: string) =>
  targets.push(`${what.padEnd(58)} ${value.toFixed(2).padStart(8)} ${unit} <= ${limit.toFixed(2)} ${unit}: ${value <= limit ? 'met' : 'NOT met'}`);

/** A busybox bundle for raw crun (what berth's spec would run, without berth): crun's default spec, which has
 * its own network namespace with loopback only, like --network none. */
async function crunBundle(args: string[]): Promise<string> {
  const bundle = mkdtempSync(path.join(os.tmpdir(), 'bench-crun-'));
  mkdirSync(path.join(bundle, 'rootfs/bin'), { recursive: true });
  cpSync('/bin/busybox', path.join(bundle, 'rootfs/bin/busybox'));
  await must(runCmd('crun', ['spec', '--bundle', bundle]), 'crun spec');
  const file = path.join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(file, 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['/bin/busybox', ...args];
  writeFileSync(file, JSON.stringify(spec));
  return bundle;
}

async function createMany(cli: Cli, count: number, what: string): Promise<void> {
  for (let i = 0; i < count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) =>
      must(cli(['create', '--name', `ps${i + j}`, '--network', 'none', '--label', `n=${i + j}`, 'busybox', 'sleep', '1']), `${what} create`)));
  }
}

async function startMany(cli: Cli, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await must(cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'run -d')).stdout.trim());
  return ids;
}

async function main(): Promise<void> {
  // speed's own bridge and subnet (10.65.x, bs*): other benchmarks and tests may run on this machine meanwhile
  const berth = new TestDaemon('bench', { bridge: `bs${process.pid % 100000}`, subnet: `10.65.${process.pid % 250}.0/24` });
  const dockerd = new Dockerd();
  const crunIds: string[] = [];
  const bundles: string[] = [];
  let canned: CannedServer | undefined;
  try {
    await berth.start();
    await berth.loadBusybox();
    const loadedAt = Date.now();
    await dockerd.start();
    await dockerd.loadBusybox();
    const berthPid = berth.proc!.pid!;
    const dockerdPid = dockerd.proc!.pid!;
    // dockerd and its containerd (not the shims: they are counted per container)
    const dockerdMemKiB = () => {
      const shims = new Set(pidsWithArg('containerd-shim', dockerd.dir));
      return rssKiB(dockerdPid) + descendants(dockerdPid).filter((p) => !shims.has(p)).reduce((a, p) => a + rssKiB(p), 0);
    };
    await sleep(1000);
    const freshB = rssKiB(berthPid) / 1024;
    const freshD = dockerdMemKiB() / 1024;

    const bDocker: Cli = (a) => berth.docker(a);
    const dDocker: Cli = (a) => dockerd.docker(a);
    console.log(`# ${REPS} interleaved repetitions each, medians in ms (memory in MiB); load average ${loadAverage()}`);

    // run --rm: berth (none, bridge) beside raw crun on an equivalent bundle and dockerd, round by round
    const runBundle = await crunBundle(['true']);
    bundles.push(runBundle);
    let n = 0;
    const crunRun = () => must(runCmd('crun', ['run', '--bundle', runBundle, `bench-crun-${process.pid}-${n++}`]), 'crun run');
    const none = ['run', '--rm', '--network', 'none', 'busybox', 'true'];
    // the docker CLI's floor: the same commands against a server that answers from recorded bodies, doing no work
    const busybox = (await berth.api('GET', '/images/busybox/json')).body;
    canned = new CannedServer(path.join(berth.dir, 'canned.sock'), { inspect: Buffer.from(JSON.stringify(busybox)), list: Buffer.from('[]') });
    await canned.start();
    const cDocker: Cli = (a) => runCmd(DOCKER, a, { env: { DOCKER_HOST: canned!.host } });
    const [tNone, tBridge, tCrun, tDockerNone, tRunFloor] = await sampleRounds(REPS, [
      () => must(bDocker(none), 'berth run'), () => must(bDocker(['run', '--rm', 'busybox', 'true']), 'berth run bridge'),
      crunRun, () => must(dDocker(none), 'docker run'), () => must(cDocker(none), 'canned run'),
    ]);
    report('run --rm --network none (docker CLI)', tNone, tDockerNone, 'dockerd');
    report('run --rm --network none vs raw crun run', tNone, tCrun, 'crun');
    report('run --rm: the docker CLI against a server doing no work', tRunFloor, tDockerNone, 'dockerd', 'floor');
    report('run --rm on the bridge (docker CLI)', tBridge, tDockerNone, 'dockerd(none)');
    report('run --rm on the bridge vs --network none', tBridge, tNone, 'berth(none)');
    target('run --rm --network none − raw crun run (ms)', tNone - tCrun, 30, 'ms');
    target('run --rm bridge − raw crun run (ms)', tBridge - tCrun, 40, 'ms');
    const tCli = (await sampleRounds(Math.max(1, Math.floor(REPS / 2)), [() => must(berth.berth(none), 'berth cli run')]))[0];
    report('run --rm --network none (berth CLI)', tCli, tDockerNone, 'dockerd');

    // exec: into a running container of each, and raw `crun exec` into a detached crun container
    const sleepBundle = await crunBundle(['sleep', '600']);
    bundles.push(sleepBundle);
    const crunId = `bench-crun-${process.pid}-sleep`;
    // (its stdio to /dev/null: the detached process would hold our pipes open)
    await must(runCmd('sh', ['-c', `exec crun run --detach --bundle ${sleepBundle} ${crunId} </dev/null >/dev/null 2>&1`]), 'crun run --detach');
    crunIds.push(crunId);
    const bc = (await must(bDocker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'berth run -d')).stdout.trim();
    const dc = (await must(dDocker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'docker run -d')).stdout.trim();
    canned.bodies.inspect = Buffer.from(JSON.stringify((await berth.api('GET', `/containers/${bc}/json`)).body));
    const [tExecB, tExecD, tExecCrun, tExecFloor] = await sampleRounds(REPS, [
      () => must(bDocker(['exec', bc, 'true']), 'berth exec'), () => must(dDocker(['exec', dc, 'true']), 'docker exec'),
      () => must(runCmd('crun', ['exec', crunId, '/bin/busybox', 'true']), 'crun exec'),
      () => must(cDocker(['exec', bc, 'true']), 'canned exec'),
    ]);
    report('exec true (docker CLI)', tExecB, tExecD, 'dockerd');
    report('exec true vs raw crun exec', tExecB, tExecCrun, 'crun');
    report('exec true: the docker CLI against a server doing no work', tExecFloor, tExecD, 'dockerd', 'floor');
    target('exec / dockerd exec', tExecB / tExecD, 0.4, '×');
    await bDocker(['rm', '-f', bc]); await dDocker(['rm', '-f', dc]);

    // ps -a with PS_N containers (created, not started: ps lists them alike, and the machine is not measured)
    await createMany(bDocker, PS_N, 'berth');
    await createMany(dDocker, PS_N, 'dockerd');
    canned.bodies.list = Buffer.from(JSON.stringify((await berth.api('GET', '/containers/json?all=1')).body));
    const [tPsB, tPsD, tPsFloor] = await sampleRounds(REPS, [
      () => must(bDocker(['ps', '-a']), 'berth ps'), () => must(dDocker(['ps', '-a']), 'docker ps'), () => must(cDocker(['ps', '-a']), 'canned ps'),
    ]);
    report(`ps -a with ${PS_N} containers (docker CLI)`, tPsB, tPsD, 'dockerd');
    report(`ps -a, ${PS_N}: the docker CLI against a server doing no work`, tPsFloor, tPsD, 'dockerd', 'floor');
    target(`ps -a (${PS_N} containers) / dockerd`, tPsB / tPsD, 0.5, '×');
    target(`  the docker CLI's floor for it / dockerd`, tPsFloor / tPsD, 0.5, '×');
    await must(bDocker(['container', 'prune', '-f']), 'berth prune');
    await must(dDocker(['container', 'prune', '-f']), 'docker prune');

    // idle memory after that use
    await sleep(Math.max(2000, loadedAt + IDLE_MS - Date.now()));
    const idleB = rssKiB(berthPid) / 1024;
    const idleD = dockerdMemKiB() / 1024;
    report('daemon RSS just started (MiB)', freshB, freshD, 'dockerd+containerd');
    report('daemon RSS idle after use (MiB)', idleB, idleD, 'dockerd+containerd');
    target('daemon RSS idle after use (MiB)', idleB, 50, 'MiB');

    // N detached starts (timed), then up to MEM_N running for the memory figures
    let sb: string[] = [];
    let sd: string[] = [];
    const tStartB = await timed(async () => { sb = await startMany(bDocker, N); });
    const tStartD = await timed(async () => { sd = await startMany(dDocker, N); });
    report(`${N} detached starts, sequential (ms)`, tStartB, tStartD, 'dockerd');
    const moreB = await startMany(bDocker, MEM_N - N);
    const moreD = await startMany(dDocker, MEM_N - N);
    await sleep(2000);
    const shimsB = pidsWithArg('berth-shim', berth.execRoot);
    const shimsD = pidsWithArg('containerd-shim', dockerd.dir);
    const perB = shimsB.reduce((a, p) => a + pssKiB(p), 0) / Math.max(1, shimsB.length) / 1024;
    const perD = shimsD.reduce((a, p) => a + pssKiB(p), 0) / Math.max(1, shimsD.length) / 1024;
    const loadedB = rssKiB(berthPid) / 1024;
    const loadedD = dockerdMemKiB() / 1024;
    report(`daemon RSS with ${MEM_N} running (MiB)`, loadedB, loadedD, 'dockerd+containerd');
    report(`memory per running container (MiB, shim PSS, ${shimsB.length}/${shimsD.length})`, perB, perD, 'containerd-shim');
    report('daemon RSS growth per running container (MiB)', (loadedB - idleB) / MEM_N, (loadedD - idleD) / MEM_N, 'dockerd+containerd');
    target(`daemon RSS with ${MEM_N} running (MiB)`, loadedB, 70, 'MiB');
    target('shim PSS per running container (MiB)', perB, 0.2, 'MiB');

    const tRmB = await timed(() => must(bDocker(['rm', '-f', ...sb]), 'rm -f'));
    const tRmD = await timed(() => must(dDocker(['rm', '-f', ...sd]), 'rm -f'));
    report(`rm -f of ${N} running (ms)`, tRmB, tRmD, 'dockerd');
    target(`rm -f of ${N} running / dockerd`, tRmB / tRmD, 0.15, '×');
    if (moreB.length) await must(bDocker(['rm', '-f', ...moreB]), 'rm -f');
    if (moreD.length) await must(dDocker(['rm', '-f', ...moreD]), 'rm -f');

    console.log(`# targets (issue 15); load average ${loadAverage()}`);
    for (const t of targets) console.log(t);
  } finally {
    await canned?.stop();
    for (const id of crunIds) await runCmd('crun', ['delete', '-f', id]);
    for (const b of bundles) rmSync(b, { recursive: true, force: true });
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
