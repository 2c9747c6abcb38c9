// docker commit / docker diff: berth beside Debian's dockerd in the same run, both driven by the docker CLI, both
// with the offline busybox image. One container per engine writes ~20 MB of changes (one 10 MB file, 160 files of
// 64 KiB, a deletion, a chmod) and exits; then, interleaved, BENCH_REPS times each (medians, ms):
//   - commit of the stopped container (untagged);
//   - commit of the same changes in a running container (paused while it is read);
//   - diff of the stopped container.
//
//   node build/bench/commit.js          (BENCH_REPS=5)
import * as os from 'os';
import { TestDaemon } from '../test/helpers/daemon';
import { Dockerd, must, report, sampleRounds } from './lib';

const REPS = parseInt(process.env.BENCH_REPS ?? '5', 10);

const WRITE = [
  'head -c 10485760 /dev/urandom > /big.bin',
  'mkdir -p /data/many',
  'i=0; while [ $i -lt 160 ]; do head -c 65536 /dev/urandom > /data/many/f$i; i=$((i+1)); done',
  'rm /etc/group', 'chmod 700 /tmp',
].join(' && ');

async function main() {
  const berth = new TestDaemon('bench-commit');
  const dockerd = new Dockerd();
  const b = (a: string[]) => berth.docker(a);
  const d = (a: string[]) => dockerd.docker(a);
  // untagged images pile up; stop() removes both data roots with them
  const commit = (cli: typeof b, what: string, container: string) => () => must(cli(['commit', container]), `${what} commit`);
  try {
    await Promise.all([berth.start(), dockerd.start()]);
    await Promise.all([berth.loadBusybox(), dockerd.loadBusybox()]);
    for (const [cli, what] of [[b, 'berth'], [d, 'dockerd']] as const) {
      await must(cli(['run', '--name', 'stopped', 'busybox', 'sh', '-c', WRITE]), `${what} run`);
      await must(cli(['run', '-d', '--name', 'running', 'busybox', 'sh', '-c', `${WRITE} && exec sleep 3600`]), `${what} run -d`);
    }
    // the running containers finish writing before anything is timed
    for (const cli of [b, d]) {
      for (let i = 0; i < 300 && !(await cli(['diff', 'running'])).stdout.includes('D /etc/group'); i++) await new Promise((r) => setTimeout(r, 100));
    }
    const size = (await b(['diff', 'stopped'])).stdout.split('\n').filter(Boolean).length;
    console.log(`# ~20 MB of changes (${size} paths in diff); ${REPS} interleaved repetitions each, medians in ms; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

    const [bStopped, dStopped, bRunning, dRunning] = await sampleRounds(REPS, [
      commit(b, 'berth', 'stopped'), commit(d, 'dockerd', 'stopped'), commit(b, 'berth', 'running'), commit(d, 'dockerd', 'running'),
    ]);
    report('commit, stopped container (ms)', bStopped, dStopped, 'dockerd');
    report('commit, running container, paused (ms)', bRunning, dRunning, 'dockerd');
    const [bDiff, dDiff] = await sampleRounds(REPS, [() => must(b(['diff', 'stopped']), 'berth diff'), () => must(d(['diff', 'stopped']), 'dockerd diff')]);
    report('diff, stopped container (ms)', bDiff, dDiff, 'dockerd');
  } finally {
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
