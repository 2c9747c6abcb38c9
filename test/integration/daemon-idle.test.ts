// The daemon after idle compaction (src/daemon/compact.ts): once the API has been quiet it gives memory back,
// and everything still works afterwards — run, exec, logs, ps — including a container started before.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'fs';
import { TestDaemon, sleep } from '../helpers/daemon';

const d = new TestDaemon('idle');
const compactions = () => d.log.split('\n').filter((l) => l.includes('idle: memory compacted')).length;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${d.proc!.pid}/status`, 'utf8'))![1]) / 1024;

async function quiet(after: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (compactions() <= after && Date.now() < deadline) await sleep(100);
  assert.ok(compactions() > after, `no compaction logged:\n${d.log}`);
}

before(async () => {
  d.extraArgs = ['-D'];
  d.env = { BERTH_IDLE_COMPACT_MS: '700' };
  await d.start();
  await d.loadBusybox();
});
after(() => d.stop());

test('an idle daemon compacts once per quiet period, and works as before afterwards', async () => {
  const id = (await d.docker(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', 'echo started; sleep 600'])).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const n = compactions();
  await quiet(n);
  const rss = rssMiB();
  await sleep(2000);
  assert.equal(compactions(), n + 1, 'once per quiet period, not again while still quiet');

  const run = await d.docker(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'after compaction']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'after compaction\n');
  const exec = await d.docker(['exec', id, 'cat', '/proc/1/cmdline']);
  assert.equal(exec.code, 0, exec.stderr);
  assert.match(exec.stdout, /sleep/);
  assert.equal((await d.docker(['logs', id])).stdout, 'started\n');
  assert.match((await d.docker(['ps', '--format', '{{.ID}}'])).stdout, new RegExp(id.slice(0, 12)));
  // used again: another compaction follows the next quiet period
  await quiet(n + 1);
  assert.ok(rssMiB() < rss + 30, 'memory given back again');
  assert.equal((await d.docker(['rm', '-f', id])).code, 0);
});

test('BERTH_IDLE_COMPACT_MS=0 turns compaction off', async () => {
  const off = new TestDaemon('idle-off');
  off.extraArgs = ['-D'];
  off.env = { BERTH_IDLE_COMPACT_MS: '0' };
  await off.start();
  try {
    assert.equal((await off.docker(['version', '--format', '{{.Server.Version}}'])).code, 0);
    await sleep(1500);
    assert.ok(!off.log.includes('idle: memory compacted'), off.log);
  } finally {
    await off.stop();
  }
});
