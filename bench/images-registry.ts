// Push and pull of a ~200 MB, 4-layer image through Debian's docker-registry on loopback: berth beside a
// private dockerd, in the same run, each against a fresh registry per round so nothing is "already there".
// The first push includes compressing the plain-tar layers of the loaded archive (both engines gzip them);
// berth keeps its compressed layers, so a second push to another registry is also timed.
import { TestDaemon } from '../test/helpers/daemon';
import { startDockerRegistry } from '../test/helpers/registry';
import { bigImageArchive, BIG_IMAGE_TAG } from './big-image';
import { Dockerd, median, must, report, timed } from './lib';

const REPS = parseInt(process.env.BENCH_REPS ?? '3', 10);

async function main(): Promise<void> {
  const archive = bigImageArchive();
  const berth = new TestDaemon('bench-reg');
  const dockerd = new Dockerd();
  try {
    await berth.start();
    await dockerd.start();
    await must(berth.berth(['load', '-i', archive], { timeoutMs: 600_000 }), 'berth load');
    await must(dockerd.docker(['load', '-i', archive]), 'docker load');

    type Engine = { name: string; cli: (args: string[]) => Promise<import('../test/helpers/daemon').RunResult> };
    const engines: Engine[] = [
      { name: 'berth', cli: (a) => berth.berth(a, { timeoutMs: 600_000 }) },
      { name: 'dockerd', cli: (a) => dockerd.docker(a) },
    ];
    const push: Record<string, number[]> = { berth: [], dockerd: [] };
    const pushAgain: Record<string, number[]> = { berth: [], dockerd: [] };
    const pull: Record<string, number[]> = { berth: [], dockerd: [] };
    for (let rep = 0; rep < REPS; rep++) {
      for (const e of engines) {
        const reg = await startDockerRegistry();
        const reg2 = await startDockerRegistry();
        try {
          const ref = `${reg.host}/bench/big:1`;
          const ref2 = `${reg2.host}/bench/big:1`;
          if (rep > 0) {
            // start from the loaded image again: the pulled copy is removed, the archive reloaded (not timed)
            const imgs = (await e.cli(['images', '-q'])).stdout.split('\n').filter(Boolean);
            if (imgs.length) await e.cli(['rmi', '-f', ...new Set(imgs)]);
            await must(e.cli(['load', '-i', archive]), `${e.name} load`);
          }
          await must(e.cli(['tag', BIG_IMAGE_TAG, ref]), 'tag');
          await must(e.cli(['tag', BIG_IMAGE_TAG, ref2]), 'tag');
          push[e.name].push(await timed(() => must(e.cli(['push', ref]), `${e.name} push`)));
          pushAgain[e.name].push(await timed(() => must(e.cli(['push', ref2]), `${e.name} push again`)));
          const imgs = (await e.cli(['images', '-q'])).stdout.split('\n').filter(Boolean);
          await must(e.cli(['rmi', '-f', ...new Set(imgs)]), 'rmi');
          pull[e.name].push(await timed(() => must(e.cli(['pull', ref]), `${e.name} pull`)));
        } finally {
          await reg.stop();
          await reg2.stop();
        }
      }
    }
    console.log(`push/pull of a ${Math.round(require('fs').statSync(archive).size / 1e6)} MB 4-layer image via docker-registry on loopback, median of ${REPS}`);
    report('push, first (ms, includes compressing)', median(push.berth), median(push.dockerd), 'dockerd');
    report('push to a second registry (ms)', median(pushAgain.berth), median(pushAgain.dockerd), 'dockerd');
    report('pull into an empty store (ms)', median(pull.berth), median(pull.dockerd), 'dockerd');
  } finally {
    await berth.stop().catch((e) => console.error('berth cleanup:', e));
    await dockerd.stop().catch((e) => console.error('dockerd cleanup:', e));
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
