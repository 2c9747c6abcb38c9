// docker cp: berth beside Debian's dockerd in the same run, on a ~100 MB tree (10,000 files of 0.5-8 KiB in 100
// directories, and five of 11 MiB), generated once under the temp dir. Each figure is the median of BENCH_REPS
// interleaved rounds (the machine's load drifts; interleaving makes it hit both engines alike):
//   into      `docker cp TREE CTR:/t`               (untimed before it: `exec rm -rf /t`)
//   out       `docker cp CTR:/t DIR`                 (untimed: the local copy removed) — the CLI's own extraction
//                                                   of 10,000 files is most of it, for both engines
//   stdout    `docker cp CTR:/t - > /dev/null`       the daemon's archiving alone
//   one file  a 5 KiB file in, and out, of a running container (latency of the common case)
// With the docker CLI against both daemons (the daemon is what differs), then the berth CLI against berth.
//
//   node build/bench/archive.js          (BENCH_REPS=3)
import { existsSync, mkdirSync, rmSync, writeFileSync, readdirSync } from 'fs';
import { randomBytes } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, runCmd, RunResult, BERTH } from '../test/helpers/daemon';
import { DOCKER, Dockerd, median, must, report, timed } from './lib';

const REPS = parseInt(process.env.BENCH_REPS ?? '3', 10);
const TREE = path.join(os.tmpdir(), 'berth-bench-cp-tree');

/** The tree, made once (deterministic sizes; content random, so nothing compresses or dedups). */
function makeTree(): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  const done = path.join(TREE, '.complete');
  let seed = 1;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  const build = !existsSync(done);
  if (build) rmSync(TREE, { recursive: true, force: true });
  for (let d = 0; d < 100; d++) {
    const dir = path.join(TREE, 't', `dir${String(d).padStart(3, '0')}`, `sub${d % 7}`);
    if (build) mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const size = 512 + Math.floor(rand() * 7680);
      if (build) writeFileSync(path.join(dir, `file${String(f).padStart(3, '0')}.txt`), randomBytes(size));
      files++;
      bytes += size;
    }
  }
  for (let i = 0; i < 5; i++) {
    if (build) writeFileSync(path.join(TREE, 't', `big${i}.bin`), randomBytes(11 << 20));
    files++;
    bytes += 11 << 20;
  }
  if (build) {
    writeFileSync(path.join(TREE, 'small.txt'), randomBytes(5000));
    writeFileSync(done, '');
  }
  return { files, bytes };
}

type Cli = (args: string[]) => Promise<RunResult>;

async function main() {
  const { files, bytes } = makeTree();
  const work = path.join(os.tmpdir(), `bench-cp-out-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const berth = new TestDaemon('bench-cp');
  const dockerd = new Dockerd();
  let stopping: Promise<void> | undefined;
  const cleanup = () => stopping ??= (async () => {
    rmSync(work, { recursive: true, force: true });
    if (process.env.BENCH_KEEP_TREE !== '1') rmSync(TREE, { recursive: true, force: true });
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  })();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { console.error(`\n${sig}: cleaning up`); void cleanup().finally(() => process.exit(130)); });
  }
  try {
    await Promise.all([berth.start(), dockerd.start()]);
    await Promise.all([berth.loadBusybox(), dockerd.loadBusybox()]);
    const env = (hostVar: string, host: string) => ({ [hostVar]: host, DOCKER_CONFIG: path.join(work, 'cfg') });
    const bDocker: Cli = (a) => runCmd(DOCKER, a, { env: env('DOCKER_HOST', berth.host), timeoutMs: 600_000 });
    const bBerth: Cli = (a) => runCmd(BERTH, a, { env: env('BERTH_HOST', berth.host), timeoutMs: 600_000 });
    const dDocker: Cli = (a) => dockerd.docker(a);
    const shell = (cliCmd: string, hostVar: string, host: string, line: string) =>
      runCmd('bash', ['-c', line.replace(/\$CLI/g, cliCmd)], { env: env(hostVar, host), timeoutMs: 600_000 });

    const ctr = 'bench-cp';
    await must(bDocker(['run', '-d', '--name', ctr, '--network', 'none', 'busybox', 'sleep', '3600']), 'berth run');
    await must(dDocker(['run', '-d', '--name', ctr, '--network', 'none', 'busybox', 'sleep', '3600']), 'docker run');
    console.log(`# tree ${(bytes / 1e6).toFixed(1)} MB in ${files} files; ${REPS} interleaved rounds, medians in ms; ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

    interface Variant { name: string; setup?: () => Promise<unknown>; run: () => Promise<unknown> }
    const variants = (tag: string, cli: Cli, cliCmd: string, hostVar: string, host: string): Variant[] => {
      const out = path.join(work, `${tag}-out`);
      return [
        { name: `${tag} into`, setup: () => must(cli(['exec', ctr, 'rm', '-rf', '/t']), 'rm'), run: () => must(cli(['cp', path.join(TREE, 't'), `${ctr}:/t`]), `${tag} cp in`) },
        { name: `${tag} out`, setup: async () => rmSync(out, { recursive: true, force: true }), run: () => must(cli(['cp', `${ctr}:/t`, out]), `${tag} cp out`) },
        { name: `${tag} stdout`, run: () => must(shell(cliCmd, hostVar, host, `$CLI cp ${ctr}:/t - > /dev/null`), `${tag} cp to stdout`) },
        { name: `${tag} one in`, run: () => must(cli(['cp', path.join(TREE, 'small.txt'), `${ctr}:/small.txt`]), `${tag} cp one in`) },
        { name: `${tag} one out`, run: () => must(cli(['cp', `${ctr}:/small.txt`, path.join(work, `${tag}-small`)]), `${tag} cp one out`) },
      ];
    };
    const all = [
      ...variants('berth', bDocker, DOCKER, 'DOCKER_HOST', berth.host),
      ...variants('dockerd', dDocker, DOCKER, 'DOCKER_HOST', `unix://${dockerd.sock}`),
      ...variants('berth-cli', bBerth, BERTH, 'BERTH_HOST', berth.host),
    ];
    const times = new Map<string, number[]>(all.map((v) => [v.name, []]));
    for (let round = 0; round <= REPS; round++) {
      for (const v of all) {
        await v.setup?.();
        await runCmd('sync', []);
        const t = await timed(v.run);
        if (round > 0) times.get(v.name)!.push(t); // round 0 warms caches and workers
      }
    }
    const m = (name: string) => median(times.get(name)!);
    // sanity: what went out is what went in
    const outFiles = readdirSync(path.join(work, 'berth-out')).length;
    if (outFiles !== readdirSync(path.join(TREE, 't')).length) throw new Error('berth cp out: wrong tree');

    for (const [what, key] of [['into', 'into'], ['out', 'out'], ['to stdout (daemon only)', 'stdout'], ['one 5 KiB file in', 'one in'], ['one 5 KiB file out', 'one out']] as const) {
      report(`cp ${what}, docker CLI (ms)`, m(`berth ${key}`), m(`dockerd ${key}`), 'dockerd');
    }
    for (const [what, key] of [['into', 'into'], ['out', 'out'], ['to stdout', 'stdout'], ['one 5 KiB file in', 'one in'], ['one 5 KiB file out', 'one out']] as const) {
      report(`cp ${what}, berth CLI (ms)`, m(`berth-cli ${key}`), m(`dockerd ${key}`), 'dockerd');
    }
    const mbps = (name: string) => (bytes / 1e6) / (m(name) / 1000);
    console.log(`# throughput into: berth ${mbps('berth into').toFixed(0)} MB/s, dockerd ${mbps('dockerd into').toFixed(0)} MB/s; to stdout: berth ${mbps('berth stdout').toFixed(0)} MB/s, dockerd ${mbps('dockerd stdout').toFixed(0)} MB/s`);
  } finally {
    await cleanup();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
