// The changes walk behind `docker diff`: an overlay upper dir (with real whiteouts and opaque markers, as overlayfs
// writes them) compared with the image's layer dirs — additions, modifications, deletions, opaque directories over
// several layers, parents listed as modified, unchanged copy-ups left out, runtime mount targets hidden — and the
// same exclusions in the layer tar a commit makes.
import { test, beforeEach, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as path from 'path';
import { overlayChanges, runtimeCreatedTargets, Change } from '../../src/storage/overlay-changes';
import { layerTar } from '../../src/storage/layer-tar';
import { lsetxattrSync, lutimensSync, mknodSync } from '../../src/storage/special-files';
import { TarReader } from '../../src/storage/tar-reader';
import { RUNTIME_MOUNT_TARGETS } from '../../src/engine/containers/commit';
import { tempDir } from './storage-fixtures';

let root: string;
let upper: string;
let low0: string; // top-most image layer
let low1: string; // the one below it

beforeEach(async () => {
  root = await tempDir('berth-changes-');
  [upper, low0, low1] = ['upper', 'low0', 'low1'].map((d) => path.join(root, d));
  for (const d of [upper, low0, low1]) await fs.mkdir(d);
});
afterEach(async () => { await fs.rm(root, { recursive: true, force: true }); });

const T = 1_600_000_000; // a fixed mtime, so copied-up files can look untouched

async function file(dir: string, rel: string, content = '', mode = 0o644): Promise<void> {
  const p = path.join(dir, rel);
  await fs.mkdir(path.dirname(p), { recursive: true });
  await fs.writeFile(p, content, { mode });
  await fs.chmod(p, mode);
  lutimensSync(p, T, 0);
}
async function dir(base: string, rel: string, mode = 0o755): Promise<void> {
  const p = path.join(base, rel);
  await fs.mkdir(p, { recursive: true });
  await fs.chmod(p, mode);
}
const whiteout = (base: string, rel: string) => mknodSync(path.join(base, rel), 'c', 0, 0, 0o600);
const opaque = (base: string, rel: string) => lsetxattrSync(path.join(base, rel), 'trusted.overlay.opaque', Buffer.from('y'));
const lines = (changes: Change[]) => changes.map((c) => `${'CAD'[c.Kind]} ${c.Path}`);

test('added, modified, deleted; parents listed as modified; untouched copy-ups and dir mtimes are no change', async () => {
  await file(low0, 'etc/passwd', 'root');
  await file(low0, 'etc/group', 'g');
  await file(low0, 'etc/hosts.allow', 'x');
  await file(low0, 'usr/share/doc/readme', 'r');
  await file(low0, 'bin/sh', 'elf', 0o755);
  await dir(low0, 'var/empty');
  // container: adds /etc/new, rewrites /etc/group, deletes /etc/passwd, chmods /bin/sh, adds a deep file,
  // copies /etc/hosts.allow up without changing it, and touches /var/empty's mtime only
  await file(upper, 'etc/new', 'n');
  await file(upper, 'etc/group', 'gg');
  whiteout(upper, 'etc/passwd');
  await file(upper, 'etc/hosts.allow', 'x');
  await file(upper, 'bin/sh', 'elf', 0o700);
  await file(upper, 'usr/share/doc/more/notes', 'm');
  await dir(upper, 'var/empty');
  lutimensSync(path.join(upper, 'var/empty'), T + 100, 0);
  for (const d of ['etc', 'bin', 'usr', 'usr/share', 'usr/share/doc', 'var']) await fs.chmod(path.join(upper, d), 0o755);

  assert.deepEqual(lines(await overlayChanges(upper, [low0])), [
    'C /bin', 'C /bin/sh',
    'C /etc', 'C /etc/group', 'A /etc/new', 'D /etc/passwd',
    'C /usr', 'C /usr/share', 'C /usr/share/doc', 'A /usr/share/doc/more', 'A /usr/share/doc/more/notes',
  ]);
});

test('a modified file is one whose size, mtime, mode, owner or capability differs', async () => {
  for (const n of ['size', 'mtime', 'owner', 'caps', 'same']) await file(low0, n, 'abc');
  await file(upper, 'size', 'abcd');
  await file(upper, 'mtime', 'abc');
  lutimensSync(path.join(upper, 'mtime'), T, 5); // nanoseconds count
  await file(upper, 'owner', 'abc');
  await fs.lchown(path.join(upper, 'owner'), 1000, 1000);
  await file(upper, 'caps', 'abc');
  lsetxattrSync(path.join(upper, 'caps'), 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
  await file(upper, 'same', 'xyz'); // same size and mtime: docker does not read contents either
  assert.deepEqual(lines(await overlayChanges(upper, [low0])), ['C /caps', 'C /mtime', 'C /owner', 'C /size']);
});

test('an opaque directory: what the image had there is deleted unless made again', async () => {
  await file(low0, 'data/keep', 'k');
  await file(low0, 'data/old', 'o');
  await file(low0, 'data/sub/deep', 'd');
  await file(low0, 'data/sub/deeper/x', 'x');
  // rm -rf /data/*; then /data/keep rewritten, /data/sub made again with one new file, /data/fresh added
  await dir(upper, 'data');
  opaque(upper, 'data');
  await file(upper, 'data/keep', 'K!');
  await file(upper, 'data/sub/other', 'n');
  await file(upper, 'data/fresh', 'f');
  assert.deepEqual(lines(await overlayChanges(upper, [low0])), [
    'C /data', 'A /data/fresh', 'C /data/keep', 'D /data/old',
    'C /data/sub', 'D /data/sub/deep', 'D /data/sub/deeper', 'A /data/sub/other',
  ]);
});

test('an opaque directory that replaced one with the same contents reports nothing', async () => {
  await file(low0, 'cfg/a', 'a');
  await dir(upper, 'cfg');
  opaque(upper, 'cfg');
  await file(upper, 'cfg/a', 'a');
  assert.deepEqual(lines(await overlayChanges(upper, [low0])), []);
});

test('several image layers: their whiteouts and opaque dirs decide what the image has', async () => {
  await file(low1, 'x/old', 'o');
  await file(low1, 'y/z', 'z');
  await file(low1, 'y/w', 'w');
  await file(low1, 'keep/f', '1');
  await file(low1, 'gone/f', '1');
  await dir(low0, 'x');
  whiteout(low0, 'x/old'); // the image deleted /x/old
  await dir(low0, 'y');
  opaque(low0, 'y'); // the image replaced /y by an empty directory ...
  await file(low0, 'y/w', 'W'); // ... then added /y/w again
  whiteout(low0, 'gone'); // and deleted /gone
  await file(upper, 'x/old', 'new'); // so these are additions
  await file(upper, 'y/z', 'z');
  await file(upper, 'gone/f', '1');
  await file(upper, 'y/w', 'W'); // but this one is the image's own, untouched
  await file(upper, 'keep/f', '22'); // and this a modification of the bottom layer's file
  whiteout(upper, 'y/nothing'); // a whiteout over nothing the image has is no change
  for (const d of ['x', 'y', 'keep']) await fs.chmod(path.join(upper, d), 0o755);
  assert.deepEqual(lines(await overlayChanges(upper, [low0, low1])), [
    'A /gone', 'A /gone/f', 'C /keep', 'C /keep/f', 'C /x', 'A /x/old', 'C /y', 'A /y/z',
  ]);
});

test('type changes and a missing upper dir', async () => {
  await file(low0, 'was-file', 'f');
  await file(low0, 'was-dir/inner', 'i');
  await file(upper, 'was-file/now-inside', 'n');
  await fs.chmod(path.join(upper, 'was-file'), 0o755);
  await file(upper, 'was-dir', 'now a file');
  assert.deepEqual(lines(await overlayChanges(upper, [low0])), ['C /was-dir', 'C /was-file', 'A /was-file/now-inside']);
  assert.deepEqual(await overlayChanges(path.join(root, 'never-started'), [low0]), []);
});

test('mount targets the runtime made are hidden; real changes beside them are not', async () => {
  // an image without /etc, /proc, /dev: the runtime creates them as mount targets
  await file(low0, 'app', 'elf', 0o755);
  for (const f of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf']) await file(upper, f, '');
  await dir(upper, 'proc');
  await dir(upper, 'dev');
  await dir(upper, 'sys');
  let hidden = await runtimeCreatedTargets(upper, [low0], RUNTIME_MOUNT_TARGETS);
  assert.deepEqual([...hidden].sort(), ['dev', 'etc', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'proc', 'sys']);
  assert.deepEqual(lines(await overlayChanges(upper, [low0], { hidden })), []);

  // the container wrote a file into /etc and one into /proc's place is not a mount target's doing
  await file(upper, 'etc/app.conf', 'x');
  await file(upper, 'etc/hosts', 'not empty');
  hidden = await runtimeCreatedTargets(upper, [low0], RUNTIME_MOUNT_TARGETS);
  assert.deepEqual(lines(await overlayChanges(upper, [low0], { hidden })), ['A /etc', 'A /etc/app.conf', 'A /etc/hosts']);

  // a target the image has is never hidden: an empty /etc/hostname written over the image's is a change
  await file(low0, 'etc/hostname', 'image');
  hidden = await runtimeCreatedTargets(upper, [low0], RUNTIME_MOUNT_TARGETS);
  assert.equal(hidden.has('etc/hostname'), false);
});

test('the commit layer tar leaves the hidden targets out and keeps whiteouts and opaque markers', async () => {
  await file(low0, 'etc/passwd', 'root');
  await file(low0, 'data/a', 'a');
  await file(upper, 'etc/hostname', '');
  await file(upper, 'etc/new', 'n');
  whiteout(upper, 'etc/passwd');
  await dir(upper, 'data');
  opaque(upper, 'data');
  await dir(upper, 'proc');
  const hidden = await runtimeCreatedTargets(upper, [low0], RUNTIME_MOUNT_TARGETS);
  const chunks: Buffer[] = [];
  for await (const c of layerTar(upper, { exclude: hidden })) chunks.push(c);
  const names: string[] = [];
  const reader = new TarReader({ entry: (h) => names.push(h.name), data: () => undefined, entryEnd: () => undefined });
  reader.push(Buffer.concat(chunks));
  reader.end();
  assert.deepEqual(names, ['data/', 'data/.wh..wh..opq', 'etc/', 'etc/new', 'etc/.wh.passwd']);
});
