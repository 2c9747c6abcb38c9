// unmountOverlay runs umount2 on koffi's worker thread; its failures are retried on the main thread for their errno.
// These check the three outcomes against real mounts (root only): unmounted, not mounted, and busy (detached lazily).
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unmountOverlay, isMounted } from '../../src/runtime/rootfs';
import { libcCalls } from '../../src/common/syscalls';

const skip = process.getuid?.() === 0 && libcCalls() ? false : 'needs root and koffi';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-unmount-test-'));
after(() => {
  try { execFileSync('umount', ['-l', path.join(tmp, 'merged')], { stdio: 'ignore' }); } catch { /* not mounted */ }
  fs.rmSync(tmp, { recursive: true, force: true });
});
const paths = () => ({ upper: path.join(tmp, 'upper'), work: path.join(tmp, 'work'), merged: path.join(tmp, 'merged') });

test('a mounted root is unmounted', { skip }, async () => {
  const p = paths();
  fs.mkdirSync(p.merged, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', p.merged]);
  assert.equal(await isMounted(p.merged), true);
  await unmountOverlay(p);
  assert.equal(await isMounted(p.merged), false);
});

test('a root that is not mounted is no error', { skip }, async () => {
  const p = paths();
  fs.mkdirSync(p.merged, { recursive: true });
  await unmountOverlay(p);
  assert.equal(await isMounted(p.merged), false);
});

test('a busy root is detached lazily, not left mounted', { skip }, async () => {
  const p = paths();
  fs.mkdirSync(p.merged, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', p.merged]);
  const holder = spawn('sleep', ['30'], { cwd: p.merged, stdio: 'ignore' }); // its cwd keeps the mount busy
  try {
    await new Promise((r) => setTimeout(r, 100));
    await unmountOverlay(p);
    assert.equal(await isMounted(p.merged), false);
  } finally {
    holder.kill('SIGKILL');
  }
});
