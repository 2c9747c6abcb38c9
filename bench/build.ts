// Classic-builder benchmark: berth beside Debian's dockerd (its legacy builder, DOCKER_BUILDKIT=0), both driven
// by the docker CLI, both with the offline busybox image. Medians in ms and the berth/dockerd ratio for:
//   - a cold build (--no-cache) and a fully cached rebuild of a 6-step Dockerfile (RUN, COPY, ENV, WORKDIR, CMD);
//   - the same for a 20-step Dockerfile (5 RUNs, 5 COPYs, metadata).
//
//   node build/bench/build.js          (BENCH_REPS=5)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon } from '../test/helpers/daemon';
import { Dockerd, must, report, sampleRounds } from './lib';

const REPS = parseInt(process.env.BENCH_REPS ?? '5', 10);

const SIX = [
  'FROM busybox',
  'RUN echo built > /built.txt',
  'COPY f0.txt /app/',
  'ENV GREETING=hi',
  'WORKDIR /app',
  'CMD ["cat", "/built.txt"]',
];

function twenty(): string[] {
  const lines = ['FROM busybox'];
  for (let i = 0; i < 5; i++) {
    lines.push(`RUN echo step${i} > /s${i}.txt`, `COPY f${i}.txt /app/`, `ENV V${i}=${i}`);
  }
  lines.push('WORKDIR /app', 'LABEL a=b', 'EXPOSE 80', 'CMD ["sh"]');
  return lines;
}

function context(root: string, name: string, lines: string[]): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), lines.join('\n') + '\n');
  for (let i = 0; i < 5; i++) writeFileSync(path.join(dir, `f${i}.txt`), `file ${i}\n`.repeat(100));
  return dir;
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-build-'));
  const berth = new TestDaemon('bench-build');
  const dockerd = new Dockerd();
  // both CLIs inherit it: the docker CLI then uses the classic /build API
  process.env.DOCKER_BUILDKIT = '0';
  const b = (a: string[]) => berth.docker(a, { timeoutMs: 300_000 });
  const d = (a: string[]) => dockerd.docker(a);
  try {
    await Promise.all([berth.start(), dockerd.start()]);
    await Promise.all([berth.loadBusybox(), dockerd.loadBusybox()]);
    const six = context(work, 'six', SIX);
    const tw = context(work, 'twenty', twenty());
    console.log(`# ${REPS} interleaved repetitions each, medians in ms; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    for (const [name, dir, steps] of [['6-step', six, SIX.length], ['20-step', tw, twenty().length]] as const) {
      const build = (cli: typeof b, who: string, extra: string[]) => () => must(cli(['build', ...extra, '-t', `bench-${name}`, dir]), `${who} build ${name}`);
      // warm both caches once
      await build(b, 'berth', [])();
      await build(d, 'dockerd', [])();
      const [bCold, dCold, bWarm, dWarm] = await sampleRounds(REPS, [
        build(b, 'berth', ['--no-cache']), build(d, 'dockerd', ['--no-cache']), build(b, 'berth', []), build(d, 'dockerd', []),
      ]);
      report(`build ${name} (${steps} steps), cold --no-cache (ms)`, bCold, dCold, 'dockerd');
      report(`build ${name} (${steps} steps), all cached (ms)`, bWarm, dWarm, 'dockerd');
    }
  } finally {
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
