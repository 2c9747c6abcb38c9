// `ps -a` with 200 containers, berth beside Debian's dockerd in the same run, both through the real docker CLI
// (the target: ≤ 15 ms, docker 28 ms on its machine). The containers are created, not started: ps lists
// them the same way, and 200 running containers would measure the machine rather than the listing.
import { DOCKER, Dockerd, must, report, sampleRounds, median, timed } from './lib';
import { TestDaemon, runCmd } from '../test/helpers/daemon';
import * as http from 'http';

const N = parseInt(process.env.BENCH_CONTAINERS ?? '200', 10);
const REPS = parseInt(process.env.BENCH_REPS ?? '20', 10);

async function createMany(docker: (args: string[]) => Promise<{ code: number; stderr: string }>, what: string): Promise<void> {
  for (let i = 0; i < N; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, N - i) }, (_, j) =>
      must(docker(['create', '--name', `ps${i + j}`, '-p', '80', '--label', `n=${i + j}`, 'busybox', 'sleep', '1']) as never, `${what} create`)));
  }
}

async function main(): Promise<void> {
  const berth = new TestDaemon('bench-ps');
  const dockerd = new Dockerd();
  try {
    await berth.start();
    await berth.loadBusybox();
    await dockerd.start();
    await dockerd.loadBusybox();
    await createMany((a) => berth.docker(a), 'berth');
    await createMany((a) => dockerd.docker(a), 'dockerd');
    const berthPs = () => must(berth.docker(['ps', '-a']), 'berth ps');
    const dockerPs = () => must(dockerd.docker(['ps', '-a']), 'dockerd ps');
    // the docker CLI's own start-up, for reference: `docker --version` talks to no daemon
    const cli = () => runCmd(DOCKER, ['--version']);
    await berthPs(); await dockerPs();
    const [b, dk, c] = await sampleRounds(REPS, [berthPs, dockerPs, cli]);
    const lines = (await berthPs()).stdout.trim().split('\n').length - 1;
    console.log(`# ps -a with ${lines} containers, ${REPS} interleaved repetitions, medians in ms (docker CLI start-up alone: ${c.toFixed(1)} ms)`);
    report('ps -a through the docker CLI (ms)', b, dk, 'dockerd');
    // the listing itself, without the CLI: the same request to both sockets
    const get = (socketPath: string) => new Promise<void>((resolve, reject) => {
      http.get({ socketPath, path: '/containers/json?all=1' }, (res) => { res.resume(); res.on('end', () => resolve()); }).on('error', reject);
    });
    const berthApi: number[] = [];
    const dockerApi: number[] = [];
    for (let i = 0; i < REPS; i++) {
      berthApi.push(await timed(() => get(berth.socket)));
      dockerApi.push(await timed(() => get(dockerd.sock)));
    }
    report('GET /containers/json?all=1 (ms)', median(berthApi), median(dockerApi), 'dockerd');
    console.log(`# target: ps -a <= 15 ms through the docker CLI: ${b.toFixed(1)} ms, ${b <= 15 ? 'met' : 'NOT met'}`);
  } finally {
    await berth.stop().catch((e) => console.error(e));
    await dockerd.stop().catch((e) => console.error(e));
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
