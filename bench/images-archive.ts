// docker save / docker load: berth beside Debian's dockerd in the same run, on a ~200 MB, 4-layer image
// (random and compressible files, a few hundred small ones), generated once as a docker-archive tar.
// Both daemons are driven by the same docker CLI; each measurement is the median of BENCH_REPS runs:
//   save: `docker save -o FILE IMAGE`
//   load: `docker rmi IMAGE` (untimed; the layers go with it), then `docker load -i ARCHIVE`
// Then the cross-check: dockerd loads what berth saved, berth loads what dockerd saved, ids compared.
import { spawn, ChildProcess, execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, runCmd, sleep } from '../test/helpers/daemon';

const REPS = parseInt(process.env.BENCH_REPS ?? '5', 10);
const DOCKER = '/usr/local/bin/docker';
const IMAGE = 'bench-archive:1';
const CACHE = path.join(os.tmpdir(), 'berth-bench-images-archive-v1.tar');

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
async function must(p: Promise<{ code: number; stdout: string; stderr: string }>, what: string) {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}${r.stdout}`);
  return r;
}
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const fileSha = (f: string) => `sha256:${execFileSync('sha256sum', [f]).toString().split(' ')[0]}`;

/** Four ~50 MB layers: 6 random 4 MiB files, 100 compressible 256 KiB files, 200 small files each. */
function generateArchive(target: string): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-archive-gen-'));
  try {
    const blobs = path.join(dir, 'out/blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    const layers: Array<{ digest: string; size: number }> = [];
    for (let l = 0; l < 4; l++) {
      const root = path.join(dir, `layer${l}`);
      for (const sub of ['random', 'text', 'small']) mkdirSync(path.join(root, `data${l}`, sub), { recursive: true });
      for (let i = 0; i < 6; i++) writeFileSync(path.join(root, `data${l}/random/r${i}.bin`), randomBytes(4 << 20));
      for (let i = 0; i < 100; i++) {
        const line = `layer ${l} file ${i}: the quick brown fox jumps over the lazy dog ${randomBytes(4).toString('hex')}\n`;
        writeFileSync(path.join(root, `data${l}/text/t${i}.txt`), line.repeat(Math.ceil((256 << 10) / line.length)).slice(0, 256 << 10));
      }
      for (let i = 0; i < 200; i++) writeFileSync(path.join(root, `data${l}/small/s${i}.conf`), `key${i}=${randomBytes(512 + (i % 4) * 512).toString('base64')}\n`);
      const tarFile = path.join(dir, `layer${l}.tar`);
      execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1700000000', '-cf', tarFile, '-C', root, '.']);
      const digest = fileSha(tarFile);
      execFileSync('mv', [tarFile, path.join(blobs, digest.slice(7))]);
      layers.push({ digest, size: statSync(path.join(blobs, digest.slice(7))).size });
      rmSync(root, { recursive: true, force: true });
    }
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', config: { Cmd: ['sh'] },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `generated layer ${i}` })),
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }));
    writeFileSync(path.join(blobs, sha(config).slice(7)), config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
    }));
    writeFileSync(path.join(blobs, sha(manifest).slice(7)), manifest);
    const out = path.join(dir, 'out');
    writeFileSync(path.join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length,
      annotations: { 'io.containerd.image.name': `docker.io/library/${IMAGE}`, 'org.opencontainers.image.ref.name': '1' },
    }] }));
    writeFileSync(path.join(out, 'manifest.json'), JSON.stringify([{ Config: `blobs/sha256/${sha(config).slice(7)}`, RepoTags: [IMAGE], Layers: layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) }]));
    writeFileSync(path.join(out, 'oci-layout'), '{"imageLayoutVersion": "1.0.0"}');
    writeFileSync(path.join(out, 'repositories'), JSON.stringify({ 'bench-archive': { 1: layers[3].digest.slice(7) } }));
    execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-cf', `${target}.tmp`, '-C', out, 'blobs', 'index.json', 'manifest.json', 'oci-layout', 'repositories']);
    execFileSync('mv', [`${target}.tmp`, target]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class Dockerd {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dockerd-'));
  sock = path.join(this.dir, 'docker.sock');
  proc?: ChildProcess;
  async start() {
    if (!existsSync('/usr/sbin/dockerd')) throw new Error('dockerd missing: bench/run installs docker.io');
    this.proc = spawn('/usr/sbin/dockerd', ['--data-root', path.join(this.dir, 'data'), '--exec-root', path.join(this.dir, 'exec'), '-H', `unix://${this.sock}`,
      '--pidfile', path.join(this.dir, 'pid'), '--bridge', 'none', '--iptables=false', '--ip-forward=false'], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(this.sock); i++) await sleep(100);
    for (let i = 0; i < 100; i++) { if ((await this.docker(['version'])).code === 0) return; await sleep(100); }
    throw new Error('dockerd did not start');
  }
  docker(args: string[]) { return runCmd(DOCKER, args, { env: { DOCKER_HOST: `unix://${this.sock}`, DOCKER_CONFIG: path.join(this.dir, 'cfg') }, timeoutMs: 600_000 }); }
  async stop() {
    if (this.proc && this.proc.exitCode === null) { const e = new Promise((r) => this.proc!.once('exit', r)); this.proc.kill('SIGTERM'); await e; }
    for (const m of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(this.dir)).reverse()) await runCmd('umount', ['-l', m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function main() {
  if (!existsSync(CACHE)) {
    const t = await timed(async () => generateArchive(CACHE));
    console.log(`# generated ${CACHE} in ${(t / 1000).toFixed(1)} s`);
  }
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
