// docker save / docker load: berth beside Debian's dockerd in the same run, on a ~200 MB, 4-layer image
// (random and compressible files, a few hundred small ones), generated once as a docker-archive tar.
// Both daemons are driven by the same docker CLI; each measurement is the median of BENCH_REPS runs:
//   save: `docker save -o FILE IMAGE`
//   load: `docker rmi IMAGE` (untimed; the layers go with it), then `docker load -i ARCHIVE`
// Then the cross-check: dockerd loads what berth saved, berth loads what dockerd saved, ids compared.
import { mkdtempSync, rmSync, statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, runCmd } from '../test/helpers/daemon';
import { bigImageArchive, BIG_IMAGE_TAG } from './big-image';
import { DOCKER, Dockerd, median, must, timed } from './lib';

const REPS = parseInt(process.env.BENCH_REPS ?? '5', 10);
const IMAGE = BIG_IMAGE_TAG;

async function main() {
  const CACHE = bigImageArchive();
  const size = statSync(CACHE).size;
  const berth = new TestDaemon('bench-archive');
  const dockerd = new Dockerd();
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-archive-'));
  const rows: string[] = [];
  const report = (what: string, b: number, d: number) => {
    const line = `${what.padEnd(36)} berth ${b.toFixed(0).padStart(7)} ms   dockerd ${d.toFixed(0).padStart(7)} ms   ratio ${(b / d).toFixed(2)}`;
    rows.push(line);
    console.log(line);
  };
  try {
    await Promise.all([berth.start(), dockerd.start()]);
    const bDocker = (args: string[]) => runCmd(DOCKER, args, { env: { DOCKER_HOST: berth.host, DOCKER_CONFIG: path.join(work, 'cfg') }, timeoutMs: 600_000 });
    const dDocker = (args: string[]) => dockerd.docker(args);
    console.log(`# image archive ${(size / 1e6).toFixed(1)} MB, 4 layers; ${REPS} repetitions, medians; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

    report('first load (docker load -i)', await timed(() => must(bDocker(['load', '-i', CACHE]), 'berth load')), await timed(() => must(dDocker(['load', '-i', CACHE]), 'docker load')));
    const idB = (await must(bDocker(['image', 'inspect', '-f', '{{.Id}}', IMAGE]), 'inspect')).stdout.trim();
    const idD = (await must(dDocker(['image', 'inspect', '-f', '{{.Id}}', IMAGE]), 'inspect')).stdout.trim();
    if (idB !== idD) throw new Error(`image ids differ: berth ${idB}, dockerd ${idD}`);

    const saveTimes = { b: [] as number[], d: [] as number[], bCli: [] as number[] };
    const loadTimes = { b: [] as number[], d: [] as number[], bCli: [] as number[] };
    const berthCli = (args: string[]) => berth.berth(args, { timeoutMs: 600_000 });
    for (let i = 0; i < REPS; i++) {
      saveTimes.b.push(await timed(() => must(bDocker(['save', '-o', path.join(work, 'b.tar'), IMAGE]), 'berth save')));
      saveTimes.d.push(await timed(() => must(dDocker(['save', '-o', path.join(work, 'd.tar'), IMAGE]), 'docker save')));
      saveTimes.bCli.push(await timed(() => must(berthCli(['save', '-o', path.join(work, 'c.tar'), IMAGE]), 'berth cli save')));
    }
    report('save -o FILE (docker CLI)', median(saveTimes.b), median(saveTimes.d));
    report('save -o FILE (berth CLI)', median(saveTimes.bCli), median(saveTimes.d));
    for (let i = 0; i < REPS; i++) {
      await must(bDocker(['rmi', IMAGE]), 'berth rmi');
      loadTimes.b.push(await timed(() => must(bDocker(['load', '-i', CACHE]), 'berth load')));
      await must(dDocker(['rmi', IMAGE]), 'docker rmi');
      loadTimes.d.push(await timed(() => must(dDocker(['load', '-i', CACHE]), 'docker load')));
      await must(bDocker(['rmi', IMAGE]), 'berth rmi');
      loadTimes.bCli.push(await timed(() => must(berthCli(['load', '-i', CACHE]), 'berth cli load')));
    }
    report('load -i ARCHIVE after rmi (docker CLI)', median(loadTimes.b), median(loadTimes.d));
    report('load -i ARCHIVE after rmi (berth CLI)', median(loadTimes.bCli), median(loadTimes.d));
    console.log(`# sizes: berth save ${(statSync(path.join(work, 'b.tar')).size / 1e6).toFixed(1)} MB, dockerd save ${(statSync(path.join(work, 'd.tar')).size / 1e6).toFixed(1)} MB`);

    // cross-check: each daemon loads the other's save and finds the same image
    await must(dDocker(['rmi', IMAGE]), 'docker rmi');
    await must(dDocker(['load', '-i', path.join(work, 'b.tar')]), 'docker load of berth\'s save');
    await must(bDocker(['rmi', IMAGE]), 'berth rmi');
    await must(bDocker(['load', '-i', path.join(work, 'd.tar')]), 'berth load of dockerd\'s save');
    const crossD = (await must(dDocker(['image', 'inspect', '-f', '{{.Id}}', IMAGE]), 'inspect')).stdout.trim();
    const crossB = (await must(bDocker(['image', 'inspect', '-f', '{{.Id}}', IMAGE]), 'inspect')).stdout.trim();
    const okCross = crossD === idB && crossB === idB;
    console.log(`# cross-check: dockerd loaded berth's save ${crossD === idB ? 'ok' : 'WRONG ID'}; berth loaded dockerd's save ${crossB === idB ? 'ok' : 'WRONG ID'}`);
    if (!okCross) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
