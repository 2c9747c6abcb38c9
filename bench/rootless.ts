// Rootless berth beside rootful berth, in one run (issue 18): `docker run --rm` through the docker CLI, the request
// rate through a published port (busybox httpd under wrk, at 127.0.0.1: rootless goes through slirp4netns's port
// forwarding, rootful through a DNAT rule), and pull + unpack of the ~200 MB, 4-layer image from a registry on the
// host's loopback (rootless: connections dialled by its parent, files unpacked as root of the user namespace).
// The rootless daemon runs as a dedicated user made for the run (test/helpers/rootless.ts) and removed after.
import * as os from 'os';
import { TestDaemon, runCmd } from '../test/helpers/daemon';
import { RootlessUser, testUserName } from '../test/helpers/rootless';
import { RegistryServer, tempDir } from '../test/integration/registry-fixture';
import { bigImageArchive, BIG_IMAGE_TAG } from './big-image';
import { freePort, median, must, report, sampleRounds, timed } from './lib';

const REPS = 10;
const SECONDS = 5;
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const SERVE = "mkdir /www && head -c 1024 /dev/zero | tr '\\0' x > /www/index.html && exec httpd -f -p 80 -h /www";

async function rps(url: string): Promise<number> {
  const r = await must(runCmd('wrk', ['-t2', '-c16', `-d${SECONDS}s`, url], { timeoutMs: (SECONDS + 30) * 1000 }), `wrk ${url}`);
  const errors = /Socket errors:.*|Non-2xx or 3xx responses:.*/.exec(r.stdout)?.[0];
  if (errors) console.log(`#   ${url}: ${errors}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  const n = process.pid % 250;
  const rootful = new TestDaemon('bench-rootful');
  (rootful as { bridge: string }).bridge = `bl${process.pid % 100000}f`;
  (rootful as { subnet: string }).subnet = `10.67.${n}.0/24`;
  const user = new RootlessUser(testUserName('b'));
  const regRoot = await tempDir('berth-bench-rootless-reg-');
  const reg = new RegistryServer(regRoot);
  try {
    await rootful.start();
    await rootful.loadBusybox();
    await user.create();
    await user.startDaemon(['--bridge', `bl${process.pid % 100000}l`, '--bip', `10.67.${(n + 1) % 250}.0/24`]);
    await must(user.exec('bash', [`${user.root}/scripts/busybox-image`, '-H', user.host], { env: { BERTH: `${user.root}/bin/berth` } }), 'busybox into the rootless daemon');
    const fulCli = (args: string[], timeoutMs?: number) => rootful.docker(args, { timeoutMs });
    const lessCli = (args: string[], timeoutMs?: number) => user.docker(args, { timeoutMs });

    console.log(`# rootless berth (user ${user.name}, slirp4netns, no cgroups on this cgroup v1 host) beside rootful berth; medians of ${REPS}; load average ${load()}`);
    const [ful, less] = await sampleRounds(REPS, [
      () => must(fulCli(['run', '--rm', 'busybox', 'true']), 'rootful run'),
      () => must(lessCli(['run', '--rm', 'busybox', 'true']), 'rootless run'),
    ]);
    report('docker run --rm busybox true (ms)', less, ful, 'rootful');
    console.log(`#   (berth = rootless) load average ${load()}`);

    const pf = await freePort();
    const pl = await freePort();
    await must(fulCli(['run', '-d', '--name', 'rlweb', '-p', `${pf}:80`, 'busybox', 'sh', '-c', SERVE]), 'rootful web');
    await must(lessCli(['run', '-d', '--name', 'rlweb', '-p', `${pl}:80`, 'busybox', 'sh', '-c', SERVE]), 'rootless web');
    await new Promise((r) => setTimeout(r, 500));
    const rf: number[] = [];
    const rl: number[] = [];
    for (let i = 0; i < 3; i++) { rf.push(await rps(`http://127.0.0.1:${pf}/`)); rl.push(await rps(`http://127.0.0.1:${pl}/`)); }
    report(`published port, requests/s (wrk -c16, ${SECONDS} s, median of 3)`, median(rl), median(rf), 'rootful');
    console.log(`#   load average ${load()}`);
    await fulCli(['rm', '-f', 'rlweb']);
    await lessCli(['rm', '-f', 'rlweb']);

    await reg.start();
    const ref = `${reg.hostPort}/bench/big:1`;
    await must(rootful.berth(['load', '-i', bigImageArchive()], { timeoutMs: 600_000 }), 'load big image');
    await must(fulCli(['tag', BIG_IMAGE_TAG, ref]), 'tag');
    await must(fulCli(['push', ref], 600_000), 'push big image');
    await must(fulCli(['rmi', ref, BIG_IMAGE_TAG]), 'rmi');
    const pulls: Array<[number, number]> = [];
    for (let i = 0; i < 3; i++) {
      const a = await timed(() => must(fulCli(['pull', ref], 600_000), 'rootful pull'));
      const b = await timed(() => must(lessCli(['pull', ref], 600_000), 'rootless pull'));
      pulls.push([b, a]);
      await must(fulCli(['rmi', ref]), 'rmi rootful');
      await must(lessCli(['rmi', ref]), 'rmi rootless');
    }
    report('pull + unpack, ~200 MB in 4 layers, loopback registry (ms)', median(pulls.map((p) => p[0])), median(pulls.map((p) => p[1])), 'rootful');
    console.log(`#   median of 3; load average ${load()}`);
  } finally {
    await reg.stop().catch(() => undefined);
    await user.remove().catch(() => undefined);
    await rootful.stop().catch(() => undefined);
    await runCmd('rm', ['-rf', regRoot]);
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
