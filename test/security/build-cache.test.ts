// The classic builder's cache must not hand one build's result to another that differs (CVE-2024-24557): Dockerfiles
// that differ only in HEALTHCHECK or ONBUILD get their own images, an image loaded from a tar with a forged parent
// and a matching command is not a cache hit, and ADD's auto-extraction cannot write outside the image.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as path from 'path';
import { engineKinds, makeEngine, importBusybox, Engine, HostMarker, socketRequest, busyboxRootfsTar } from './target';
import { RunResult } from '../helpers/daemon';
import { tarOf, dockerArchive } from './tar-fixtures';

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'bcache');
    let ctx: string;
    let marker: HostMarker;
    before(async () => {
      await e.start();
      await importBusybox(e);
      ctx = await fs.mkdtemp('/tmp/berth-sec-bcache-');
      marker = new HostMarker('bcache');
    });
    after(async () => {
      try { marker.check(); } finally {
        marker.remove();
        await fs.rm(ctx, { recursive: true, force: true });
        await e.stop();
      }
    });

    async function build(tag: string, dockerfile: string, files: Record<string, Buffer | string> = {}): Promise<string> {
      const dir = path.join(ctx, tag.replace(/[:/]/g, '_'));
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'Dockerfile'), dockerfile);
      for (const [name, body] of Object.entries(files)) await fs.writeFile(path.join(dir, name), body);
      return ok(await e.docker(['build', '-t', tag, dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 }), `build ${tag}`);
    }
    const inspect = async (ref: string) => (await e.api('GET', `/images/${ref}/json`)).body;

    test('CVE-2024-24557: Dockerfiles that differ only in HEALTHCHECK or ONBUILD do not share cache', async () => {
      await build('plain:1', 'FROM busybox\nRUN echo step > /step\n');
      const h = await build('health:1', 'FROM busybox\nHEALTHCHECK --interval=5s CMD true\nRUN echo step > /step\n');
      const o = await build('onbuild:1', 'FROM busybox\nONBUILD RUN echo child\nRUN echo step > /step\n');
      const [plain, health, onbuild] = await Promise.all([inspect('plain:1'), inspect('health:1'), inspect('onbuild:1')]);
      assert.deepEqual(health.Config.Healthcheck?.Test, ['CMD-SHELL', 'true'], `the HEALTHCHECK build got ${JSON.stringify(health.Config.Healthcheck)}:\n${h}`);
      assert.deepEqual(onbuild.Config.OnBuild, ['RUN echo child'], `the ONBUILD build got ${JSON.stringify(onbuild.Config.OnBuild)}:\n${o}`);
      assert.ok(!plain.Config.Healthcheck && !(plain.Config.OnBuild ?? []).length, 'the plain build inherited another\'s config');
      assert.notEqual(health.Id, plain.Id);
      assert.notEqual(onbuild.Id, plain.Id);
      // and the other way round: the plain build after them is still plain
      await build('plain:2', 'FROM busybox\nRUN echo step > /step\n');
      const plain2 = await inspect('plain:2');
      assert.ok(!plain2.Config.Healthcheck && !(plain2.Config.OnBuild ?? []).length);
    });

    test('CVE-2024-24557: a loaded image with a forged parent and a matching step is not a cache hit', async () => {
      const bb = await inspect('busybox:latest');
      const base = busyboxRootfsTar(); // the very layer busybox was imported from
      const forgedLayer = tarOf([{ name: 'step', body: 'FORGED\n' }]);
      // the forged image claims to be "busybox + RUN echo forged-step > /step", with busybox as its parent
      const archive = dockerArchive({
        layers: [base, forgedLayer], tag: 'forged:1',
        config: {
          parent: bb.Id, container_config: { Cmd: ['/bin/sh', '-c', 'echo forged-step > /step'] },
          config: { Cmd: ['sh'] }, history: [{ created_by: 'import' }, { created_by: '/bin/sh -c echo forged-step > /step' }],
        },
      });
      const load = await socketRequest(e.socket, 'POST', '/images/load?quiet=1', archive, { 'Content-Type': 'application/x-tar' });
      assert.ok(load.status < 500, load.text);
      assert.equal((await e.api('GET', '/images/forged:1/json')).status, 200, `the forged image was not loaded: ${load.text}`);
      const out = await build('victim:1', 'FROM busybox\nRUN echo forged-step > /step\n');
      const r = await e.docker(['run', '--rm', 'victim:1', 'cat', '/step']);
      assert.equal(r.stdout.trim(), 'forged-step', `the build used a loaded image as its cache: ${r.stdout}\n${out}`);
    });

    test('ADD auto-extraction cannot write outside the image', async () => {
      const up = '../'.repeat(10) + marker.dir.slice(1);
      const evil = tarOf([
        { name: `${up}/planted-up`, body: 'x' },
        { name: 'lnk', type: 'symlink', linkname: marker.dir },
        { name: 'lnk/planted-link', body: 'x' },
        { name: 'hard', type: 'hardlink', linkname: marker.file },
      ]);
      const dir = path.join(ctx, 'addctx');
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'evil.tar'), evil);
      await fs.writeFile(path.join(dir, 'Dockerfile'), 'FROM busybox\nADD evil.tar /x/\nRUN cat /x/hard /x/lnk/secret 2>/dev/null; true\n');
      const r = await e.docker(['build', '-t', 'addevil:1', dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 });
      assert.ok(!r.stdout.includes(marker.token), `the build read the host file: ${r.stdout}`);
      marker.check();
    });
  });
}
