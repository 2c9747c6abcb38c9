// End to end on the real kernel: scripts/busybox-image's tar imported into an ImageStore, its layer mounted
// with overlayfs and a shell run in it; then two more layers with whiteouts and an opaque dir, to prove the
// unpacked format is the one overlayfs understands. Needs root (mount, chroot, mknod).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageStore } from '../../src/storage/images';
import { unpackLayer } from '../../src/storage/unpack';
import { makeTar, TarEntry } from '../unit/storage-fixtures';

const repo = path.resolve(__dirname, '../../..');
const script = path.join(repo, 'scripts/busybox-image');
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root' : undefined;

let work: string;
const mounts: string[] = [];

before(async () => { work = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-storage-it-')); });
after(async () => {
  for (const m of mounts.reverse()) { try { execFileSync('umount', [m]); } catch { /* already gone */ } }
  await fs.rm(work, { recursive: true, force: true });
});

/** The script's tar, streamed straight into importTar (no temp file), like `… | berth import -`. */
async function importBusybox(store: ImageStore) {
  const child = spawn(script, ['--tar'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const img = await store.importTar(child.stdout, { reference: 'busybox:latest', changes: ['CMD ["sh"]'] });
  assert.equal(await exited, 0);
  return img;
}

async function mountOverlay(lower: string[], name: string): Promise<string> {
  const base = path.join(work, name);
  for (const d of ['upper', 'work', 'merged']) await fs.mkdir(path.join(base, d), { recursive: true });
  const merged = path.join(base, 'merged');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o',
    `lowerdir=${lower.join(':')},upperdir=${base}/upper,workdir=${base}/work`, merged]);
  mounts.push(merged);
  return merged;
}

test('busybox image: imported, mounted with overlayfs, runs a shell', { skip }, async () => {
  const store = await ImageStore.open(path.join(work, 'image'));
  const img = await importBusybox(store);
  assert.deepEqual(img.repoTags, ['busybox:latest']);
  assert.deepEqual(img.config.config?.Cmd, ['sh']);
  const [layer] = store.layerDirs(img);
  assert.equal(await fs.readlink(path.join(layer, 'bin/sh')), 'busybox');
  assert.equal((await fs.stat(path.join(layer, 'tmp'))).mode & 0o7777, 0o1777);
  assert.match(await fs.readFile(path.join(layer, 'etc/passwd'), 'utf8'), /^nobody:x:65534:65534:/m);

  // the script's tar is reproducible: importing it again reuses the layer
  const again = await importBusybox(store);
  assert.deepEqual(again.diffIds, img.diffIds);

  const merged = await mountOverlay(store.layerDirs(img), 'run');
  const out = execFileSync('chroot', [merged, '/bin/sh', '-c', 'echo hello from $(id -un) in $(pwd); ls /usr/bin/[ >/dev/null && echo ok']).toString();
  assert.equal(out, 'hello from root in /\nok\n');
});

test('whiteouts and opaque dirs behave under overlayfs', { skip }, async () => {
  const layers: string[] = [];
  async function layer(name: string, entries: TarEntry[]): Promise<string> {
    const dir = path.join(work, 'layers', name);
    await fs.mkdir(dir, { recursive: true });
    await unpackLayer([await makeTar(entries)], dir);
    layers.unshift(dir); // top-most first
    return dir;
  }
  await layer('l0', [
    { name: 'etc/passwd', content: 'p' }, { name: 'etc/group', content: 'g' },
    { name: 'data/a', content: 'a' }, { name: 'data/b', content: 'b' },
  ]);
  await layer('l1', [
    { name: 'etc/.wh.group', content: '' },
    { name: 'data/', type: 'directory' }, { name: 'data/.wh..wh..opq', content: '' }, { name: 'data/c', content: 'c' },
  ]);
  const merged = await mountOverlay(layers, 'wh');
  assert.deepEqual((await fs.readdir(path.join(merged, 'etc'))).sort(), ['passwd']);
  assert.deepEqual((await fs.readdir(path.join(merged, 'data'))).sort(), ['c']);
});
