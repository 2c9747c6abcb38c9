// The real docker CLI (v28) against berth for the image commands — save, load, history, images filters,
// image prune, system df — and the berth CLI beside it: the same commands give the same results.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, promises as fs, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd } from '../helpers/daemon';
import { layerOf, legacyArchive } from '../unit/archive-fixtures';

const d = new TestDaemon('compat-img');
let work: string;
before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'berth-compat-img-'));
  await d.start();
  await d.loadBusybox();
});
after(async () => {
  await d.stop();
  rmSync(work, { recursive: true, force: true });
});

const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);

for (const cli of ['docker', 'berth'] as const) {
  const run = (args: string[], opts: { input?: string } = {}) => (cli === 'docker' ? d.docker(args, opts) : d.berth(args, opts));

  test(`${cli}: save -o, rmi, load -i round trip`, async () => {
    const id = (await run(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).stdout.trim();
    ok(await run(['tag', 'busybox', `${cli}-copy:1`]), 'tag');
    const file = path.join(work, `${cli}.tar`);
    ok(await run(['save', '-o', file, `${cli}-copy:1`]), 'save');
    const listing = (await runCmd('tar', ['-tf', file])).stdout.split('\n');
    for (const f of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) assert.ok(listing.includes(f), f);
    ok(await run(['rmi', `${cli}-copy:1`]), 'rmi');
    const load = await run(['load', '-i', file]);
    ok(load, 'load');
    assert.equal(load.stdout, `Loaded image: ${cli}-copy:1\n`);
    assert.equal((await run(['image', 'inspect', '-f', '{{.Id}}', `${cli}-copy:1`])).stdout.trim(), id);
    const r = await run(['run', '--rm', `${cli}-copy:1`, 'echo', 'ok']);
    ok(r, 'run');
    assert.equal(r.stdout, 'ok\n');
    ok(await run(['rmi', `${cli}-copy:1`]), 'rmi');
  });

  test(`${cli}: load errors`, async () => {
    const missing = await run(['load', '-i', path.join(work, 'nope.tar')]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), `open ${path.join(work, 'nope.tar')}: no such file or directory`);
    const garbage = path.join(work, 'garbage.tar');
    await fs.writeFile(garbage, 'garbage'.repeat(1000));
    const bad = await run(['load', '-i', garbage]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error processing tar file: /);
  });

  test(`${cli}: images -a/-q/--filter/--format`, async () => {
    const all = await run(['images', '-a', '--format', '{{.Repository}}:{{.Tag}}']);
    ok(all, 'images -a');
    assert.ok(all.stdout.split('\n').includes('busybox:latest'));
    const ref = await run(['images', '--filter', 'reference=busy*', '-q']);
    assert.equal(ref.stdout.trim().split('\n').length, 1);
    const bad = await run(['images', '--filter', 'dangling=maybe']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim(), "Error response from daemon: invalid filter 'dangling=[maybe]'");
  });

  test(`${cli}: image prune -f removes dangling images only`, async () => {
    const file = path.join(work, `dangling-${cli}.tar`);
    await fs.writeFile(file, await legacyArchive([{ layers: [await layerOf(`dangling-${cli}`)] }]));
    const load = await run(['load', '-i', file]);
    ok(load, 'load');
    const loadedId = /Loaded image ID: (sha256:[0-9a-f]{64})/.exec(load.stdout)?.[1];
    assert.ok(loadedId, load.stdout);
    const prune = await run(['image', 'prune', '-f']);
    ok(prune, 'prune');
    assert.ok(prune.stdout.startsWith(`Deleted Images:\ndeleted: ${loadedId}\n`), prune.stdout);
    assert.match(prune.stdout, /\n\nTotal reclaimed space: \d+B\n$/);
    assert.ok((await run(['images', '-q', 'busybox'])).stdout.trim());
  });

  test(`${cli}: system df`, async () => {
    const df = await run(['system', 'df']);
    ok(df, 'system df');
    assert.match(df.stdout, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE\nImages\s+1\s+0\s+\S+\s+\S+ \(100%\)\nContainers\s+0\s+0\s+0B\s+0B\nLocal Volumes\s+0\s+0\s+0B\s+0B\nBuild Cache\s+0\s+0\s+0B\s+0B\n$/);
  });
}

test('docker and berth print the same history, images, and system df', async () => {
  for (const args of [
    ['history', 'busybox'], ['history', '--no-trunc', '-H=false', 'busybox'], ['history', '--format', 'json', 'busybox'],
    ['images'], ['images', '--digests', '--no-trunc'], ['images', '--format', 'json'],
    ['system', 'df'], ['system', 'df', '-v'], ['system', 'df', '--format', 'json'],
  ]) {
    const a = await d.docker(args);
    const b = await d.berth(args);
    ok(a, `docker ${args.join(' ')}`);
    // the two commands run a moment apart: relative times may differ by a second (and move table columns)
    const norm = (s: string) => s.replace(/(Less than a second|About a minute|\d+ (second|minute)s?) ago/g, 'N ago').replace(/ {2,}/g, '  ');
    assert.equal(norm(b.stdout), norm(a.stdout), args.join(' '));
  }
});

test('docker save and berth save write the same archive', async () => {
  const a = path.join(work, 'a.tar');
  const b = path.join(work, 'b.tar');
  ok(await d.docker(['save', '-o', a, 'busybox']), 'docker save');
  ok(await d.berth(['save', '-o', b, 'busybox']), 'berth save');
  assert.deepEqual(await fs.readFile(a), await fs.readFile(b));
});
