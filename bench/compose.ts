// Compose, side by side in one run: `berth compose` on berth against Debian's `docker-compose` 1.29 on Debian's
// dockerd (both Engine-API clients): `up -d` of 1, 12 and 41 independent busybox services, a second `up -d` with
// nothing changed, `down`, and `config`. Mirrors `docker compose up -d` / `down` / `config`. Medians of
// BENCH_REPS runs (default 3; the rows interleave the two tools), ratio berth/docker-compose, with the load average.
// Targets (issue 12): 41 services up <= 1.5 s, <= 0.3x docker-compose for every up/down row, second up <= 150 ms.
import * as os from 'os';
import * as path from 'path';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'fs';
import { Dockerd, must, report, timed, median } from './lib';
import { TestDaemon, runCmd, BERTH } from '../test/helpers/daemon';

const REPS = parseInt(process.env.BENCH_REPS ?? '3', 10);
const SIZES = (process.env.BENCH_SERVICES ?? '1,12,41').split(',').map(Number);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

function project(root: string, name: string, n: number, subnet: string): string {
  const dir = path.join(root, name);
  require('fs').mkdirSync(dir, { recursive: true });
  let y = 'services:\n';
  for (let i = 0; i < n; i++) y += `  s${i}:\n    image: busybox\n    command: ["sleep", "3600"]\n`;
  y += `networks:\n  default:\n    ipam:\n      config:\n        - subnet: ${subnet}\n`;
  writeFileSync(path.join(dir, 'docker-compose.yml'), y);
  return dir;
}

async function main(): Promise<void> {
  if (!existsSync('/usr/bin/docker-compose')) throw new Error('docker-compose missing: scripts/setup installs it');
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-compose-'));
  // compose's own range (10.61.x, bc* bridges), as its projects' subnets below
  const berth = new TestDaemon('bench-compose', { bridge: `bcb${process.pid % 10000}`, subnet: '10.61.99.0/24' });
  const dockerd = new Dockerd();
  try {
    await berth.start();
    await berth.loadBusybox();
    await dockerd.start(['--default-address-pool', 'base=10.61.240.0/20,size=24']);
    await dockerd.loadBusybox();
    const bc = (dir: string, args: string[]) => must(runCmd(BERTH, ['compose', '--project-directory', dir, '-f', path.join(dir, 'docker-compose.yml'), ...args],
      { env: { BERTH_HOST: berth.host }, timeoutMs: 600_000 }), `berth compose ${args.join(' ')}`);
    const dc = (dir: string, args: string[]) => must(runCmd('/usr/bin/docker-compose', ['--project-directory', dir, '-f', path.join(dir, 'docker-compose.yml'), ...args],
      { env: { DOCKER_HOST: `unix://${dockerd.sock}` }, timeoutMs: 600_000 }), `docker-compose ${args.join(' ')}`);
    console.log(`# berth compose (berth) vs docker-compose 1.29 (dockerd 20.10); ${REPS} interleaved runs per row, medians in ms; ${os.cpus().length} CPUs`);
    for (const n of SIZES) {
      const bdir = project(root, `b${n}`, n, `10.61.${100 + n}.0/24`);
      const ddir = project(root, `d${n}`, n, `10.61.${160 + n}.0/24`);
      const rows: Record<string, [number[], number[]]> = { up: [[], []], again: [[], []], down: [[], []] };
      for (let r = 0; r < REPS; r++) {
        rows.up[0].push(await timed(() => bc(bdir, ['up', '-d'])));
        rows.up[1].push(await timed(() => dc(ddir, ['up', '-d'])));
        rows.again[0].push(await timed(() => bc(bdir, ['up', '-d'])));
        rows.again[1].push(await timed(() => dc(ddir, ['up', '-d'])));
        rows.down[0].push(await timed(() => bc(bdir, ['down', '-t', '0'])));
        // dockerd 20.10 sometimes refuses to remove the network ("has active endpoints") right after removing many
        // containers: the timed run counts as it went, an untimed second down cleans up
        rows.down[1].push(await timed(() => runCmd('/usr/bin/docker-compose', ['--project-directory', ddir, '-f', path.join(ddir, 'docker-compose.yml'), 'down', '-t', '0'],
          { env: { DOCKER_HOST: `unix://${dockerd.sock}` }, timeoutMs: 600_000 })));
        await runCmd('/usr/bin/docker-compose', ['--project-directory', ddir, '-f', path.join(ddir, 'docker-compose.yml'), 'down', '-t', '0'], { env: { DOCKER_HOST: `unix://${dockerd.sock}` }, timeoutMs: 600_000 });
      }
      const l = load();
      report(`up -d, ${n} services (ms) [load ${l}]`, median(rows.up[0]), median(rows.up[1]), 'docker-compose');
      report(`second up -d, ${n} services, unchanged (ms)`, median(rows.again[0]), median(rows.again[1]), 'docker-compose');
      report(`down, ${n} services (ms)`, median(rows.down[0]), median(rows.down[1]), 'docker-compose');
      if (n === Math.max(...SIZES)) {
        const cfgB: number[] = [];
        const cfgD: number[] = [];
        for (let r = 0; r < REPS * 2; r++) {
          cfgB.push(await timed(() => bc(bdir, ['config'])));
          cfgD.push(await timed(() => dc(ddir, ['config'])));
        }
        report(`config, ${n} services (ms) [load ${load()}]`, median(cfgB), median(cfgD), 'docker-compose');
        const up = median(rows.up[0]);
        const again = median(rows.again[0]);
        console.log(`# targets: ${n} services up <= 1500 ms: ${up.toFixed(0)} ms ${up <= 1500 ? 'met' : 'NOT met'}; second up <= 150 ms: ${again.toFixed(0)} ms ${again <= 150 ? 'met' : 'NOT met'}`);
      }
    }
  } finally {
    await berth.stop().catch((e) => console.error(e));
    await dockerd.stop().catch((e) => console.error(e));
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
