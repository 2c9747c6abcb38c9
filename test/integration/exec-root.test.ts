// The exec root on tmpfs (src/daemon/exec-root.ts): a root daemon mounts one where the exec root is on another
// file system and nothing lives in it, and never over live state.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, statSync, statfsSync, rmSync } from 'fs';
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { execRootOnTmpfs } from '../../src/daemon/exec-root';
import { TestDaemon } from '../helpers/daemon';

const skip = process.getuid?.() !== 0 ? 'needs root' : false;
const base = mkdtempSync(path.join('/var/tmp', 'berth-exec-root-'));
/** where /var/tmp is tmpfs itself, there is nothing to mount: each case then expects just that */
const baseOnTmpfs = statfsSync(base).type === 0x01021994;
after(() => {
  for (const m of mountsUnder(base).reverse()) execFileSync('umount', ['-l', m]);
  rmSync(base, { recursive: true, force: true });
});

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f[4]?.startsWith(dir)).map((f) => f[4]);
}
const fsType = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir)?.split(' - ')[1]?.split(' ')[0];

test('an exec root on disk gets a tmpfs of its own (0710, nosuid, nodev); one on tmpfs is left alone', { skip }, async () => {
  const root = path.join(base, 'fresh');
  mkdirSync(root);
  writeFileSync(path.join(root, 'left-by-a-daemon-that-has-gone'), '');
  if (baseOnTmpfs) { assert.equal(await execRootOnTmpfs(root), 'tmpfs'); return; }
  assert.equal(await execRootOnTmpfs(root), 'mounted');
  assert.equal(fsType(root), 'tmpfs');
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === root)!;
  assert.match(line.split(' ')[5], /nosuid/);
  assert.match(line.split(' ')[5], /nodev/);
  assert.equal(statSync(root).mode & 0o777, 0o710);
  assert.equal(await execRootOnTmpfs(root), 'tmpfs'); // a restarted daemon finds its tmpfs
  assert.equal(mountsUnder(root).length, 1);
});

test('not over live state: an exec root with a mount in it (a namespace file) stays as it is', { skip }, async () => {
  const root = path.join(base, 'live');
  mkdirSync(path.join(root, 'netns'), { recursive: true });
  const file = path.join(root, 'netns', 'ns1');
  writeFileSync(file, '');
  execFileSync('mount', ['--bind', '/proc/self/ns/net', file]);
  assert.equal(await execRootOnTmpfs(root), baseOnTmpfs ? 'tmpfs' : 'in use');
  assert.notEqual(fsType(root), 'tmpfs');
  assert.deepEqual(mountsUnder(root), [file]);
});

test('the daemon does it at start: containers run with their state on the tmpfs, and a restart keeps it', { skip }, async () => {
  const d = new TestDaemon('xroot', { bridge: `bxr${process.pid % 1000}`, subnet: `10.65.${217 + (process.pid % 20)}.0/24` });
  try {
    await d.start();
    await d.loadBusybox();
    assert.equal(statfsSync(d.execRoot).type, 0x01021994, 'tmpfs');
    assert.equal(statSync(d.execRoot).mode & 0o777, 0o710);
    const own = statfsSync(path.dirname(d.execRoot)).type !== 0x01021994 ? 1 : 0; // (none where /tmp is tmpfs)
    assert.equal((await d.docker(['run', '-d', '--name', 'kept', 'busybox', 'sleep', '300'])).code, 0);
    await d.stopDaemon();
    await d.start();
    assert.equal(mountsUnder(d.execRoot).filter((m) => m === d.execRoot).length, own, 'one tmpfs, not a second over the first');
    const r = await d.docker(['exec', 'kept', 'echo', 'still here']);
    assert.equal(r.stdout, 'still here\n', r.stderr);
  } finally {
    await d.stop();
  }
  assert.deepEqual(mountsUnder(d.execRoot), []);
});
