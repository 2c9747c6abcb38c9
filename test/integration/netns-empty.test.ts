// --network none's namespace: made by syscalls (no process) where koffi loads, removed with its unmount on koffi's
// worker thread. Checks the namespace is bound with only `lo`, up, and that removal leaves neither mount nor file,
// also when it is called again or for a file that was never bound (root only).
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createEmptyNetns, removeNetns, emptyNetnsWithoutProcess } from '../../src/network/netns';

const skip = process.getuid?.() === 0 ? false : 'needs root';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-netns-test-'));
after(() => {
  for (const f of fs.readdirSync(tmp)) { try { execFileSync('umount', ['-l', path.join(tmp, f)], { stdio: 'ignore' }); } catch { /* not mounted */ } }
  fs.rmSync(tmp, { recursive: true, force: true });
});
const mounted = (file: string) => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === file);

test('an empty namespace has only lo, up; removing it leaves no mount and no file', { skip }, async () => {
  assert.equal(emptyNetnsWithoutProcess(), true, 'koffi loads here: the syscall path is the one tested');
  const file = path.join(tmp, 'ns1');
  await createEmptyNetns(file);
  assert.equal(mounted(file), true);
  const links = execFileSync('nsenter', [`--net=${file}`, 'ip', '-o', 'link'], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(links.length, 1, links.join('\n'));
  assert.match(links[0], /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  await removeNetns(file);
  assert.equal(mounted(file), false);
  assert.equal(fs.existsSync(file), false);
  await removeNetns(file); // again: nothing there, no error
});

test('removing a namespace file that was never bound only removes the file', { skip }, async () => {
  const file = path.join(tmp, 'plain');
  fs.writeFileSync(file, '');
  await removeNetns(file);
  assert.equal(fs.existsSync(file), false);
});
