// Core benchmark: berth beside Debian's dockerd (docker.io) and raw crun, in the same run.
// Prints medians and the berth/anchor ratio for: run --rm, exec, 50 detached starts, rm -f of 50,
// daemon idle memory and memory per running container.
import { spawn, ChildProcess } from 'child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, mkdirSync, cpSync } from 'fs';
import * as path from 'path';
import * as os from 'os';
import { TestDaemon, runCmd, sleep } from '../test/helpers/daemon';
import { Dockerd, must, pidsByName, report as printRow, sample, timed } from './lib';

const REPS = parseInt(process.env.BENCH_REPS ?? '10', 10);

function rssKiB(pid: number): number {
  try { return parseInt(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1], 10); } catch { return 0; }
}
function pssKiB(pid: number): number {
  try { return parseInt(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1], 10); } catch { return rssKiB(pid); }
}

async function main() {
  const rows: Array<[string, number, number, string]> = [];
  const report = (what: string, berth: number, anchor: number, anchorName: string) => {
    rows.push([what, berth, anchor, anchorName]);
    printRow(what, berth, anchor, anchorName);
  };

  const berth = new TestDaemon('bench');
  const dockerd = new Dockerd();
  try {
    await berth.start();
    await berth.loadBusybox();
    await dockerd.start();
    await dockerd.loadBusybox();

    const bDocker = (args: string[]) => berth.docker(args);
    console.log(`# ${REPS} repetitions each, medians in ms (memory in MiB); load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

    // run --rm --network none
    const runArgs = ['run', '--rm', '--network', 'none', 'busybox', 'true'];
    const tBerthDocker = await sample(REPS, () => must(bDocker(runArgs), 'berth run'));
    const tDocker = await sample(REPS, () => must(dockerd.docker(runArgs), 'docker run'));
    report('run --rm --network none (docker CLI)', tBerthDocker, tDocker, 'dockerd');
    const tBerthCli = await sample(REPS, () => must(berth.berth(runArgs), 'berth cli run'));
    report('run --rm --network none (berth CLI)', tBerthCli, tDocker, 'dockerd');
    const tBridge = await sample(REPS, () => must(bDocker(['run', '--rm', 'busybox', 'true']), 'berth run bridge'));
    report('run --rm on the bridge (docker CLI)', tBridge, tDocker, 'dockerd(none)');

    // raw crun on an equivalent bundle
    const bundle = mkdtempSync(path.join(os.tmpdir(), 'bench-crun-'));
    try {
      mkdirSync(path.join(bundle, 'rootfs/bin'), { recursive: true });
      cpSync('/bin/busybox', path.join(bundle, 'rootfs/bin/busybox'));
      await must(runCmd('sh', ['-c', `cd ${bundle} && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\\/bin\\/busybox", "true"/' config.json`]), 'crun spec');
      let n = 0;
      const tCrun = await sample(REPS, () => must(runCmd('crun', ['run', '--bundle', bundle, `bench-crun-${process.pid}-${n++}`]), 'crun run'));
      report('raw crun run (reference)', tBerthDocker, tCrun, 'crun');
    } finally { rmSync(bundle, { recursive: true, force: true }); }

    // exec
    const bc = (await must(bDocker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'berth run -d')).stdout.trim();
    const dc = (await must(dockerd.docker(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'docker run -d')).stdout.trim();
    const tExecB = await sample(REPS, () => must(bDocker(['exec', bc, 'true']), 'berth exec'));
    const tExecD = await sample(REPS, () => must(dockerd.docker(['exec', dc, 'true']), 'docker exec'));
    report('exec true (docker CLI)', tExecB, tExecD, 'dockerd');
    await bDocker(['rm', '-f', bc]); await dockerd.docker(['rm', '-f', dc]);

    // memory: idle daemon, then per running container
    await sleep(500);
    const berthPid = berth.proc!.pid!;
    const dockerdPid = dockerd.proc!.pid!;
    const containerdPids = () => pidsByName('containerd');
    const idleB = rssKiB(berthPid) / 1024;
    const idleD = (rssKiB(dockerdPid) + containerdPids().reduce((a, p) => a + rssKiB(p), 0)) / 1024;
    report('daemon idle RSS (MiB)', idleB, idleD, 'dockerd+containerd');

    // 50 detached starts, then rm -f of 50 running
    const N = 50;
    const startMany = async (cli: (a: string[]) => Promise<{ code: number; stdout: string; stderr: string }>) => {
      const ids: string[] = [];
      const t = await timed(async () => { for (let i = 0; i < N; i++) ids.push((await must(cli(['run', '-d', '--network', 'none', 'busybox', 'sleep', '600']), 'run -d')).stdout.trim()); });
      return { t, ids };
    };
    const sb = await startMany(bDocker);
    const shims = pidsByName('berth-shim');
    const perB = shims.reduce((a, p) => a + pssKiB(p), 0) / Math.max(1, shims.length) / 1024;
    const sd = await startMany((a) => dockerd.docker(a));
    const dShims = pidsByName('containerd-shim').concat(pidsByName('containerd-shim-runc-v2'));
    const perD = dShims.reduce((a, p) => a + pssKiB(p), 0) / Math.max(1, dShims.length) / 1024;
    report(`${N} detached starts (ms)`, sb.t, sd.t, 'dockerd');
    report('memory per running container (MiB, shim PSS)', perB, perD, 'containerd-shim');
    const loadedB = rssKiB(berthPid) / 1024;
    console.log(`# berth daemon RSS with ${N} running: ${loadedB.toFixed(1)} MiB`);
    report(`rm -f of ${N} running (ms)`, await timed(() => must(bDocker(['rm', '-f', ...sb.ids]), 'rm -f')), await timed(() => must(dockerd.docker(['rm', '-f', ...sd.ids]), 'rm -f')), 'dockerd');
  } finally {
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
