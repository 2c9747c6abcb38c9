// CI's short run of bench/memory.ts (berth with and without idle compaction beside dockerd): every row and every
// target line runs and prints its figures. A smoke test only: nothing here looks at the figures.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { runCmd, REPO } from '../helpers/daemon';

test('bench/memory runs every row (smoke: 1 repetition, a few containers, no figure asserts)', async () => {
  const env = { BENCH_REPS: '1', BENCH_QUIET_REPS: '1', BENCH_MEM_CONTAINERS: '3', BENCH_IDLE_MS: '0' };
  const r = await runCmd(process.execPath, [path.join(REPO, 'build/bench/memory.js')], { env, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /load average \d/);
  const rows = r.stdout.split('\n').filter((l) => / berth +-?\d+\.\d +\S.* +-?\d+\.\d +ratio /.test(l));
  assert.equal(rows.length, 28, r.stdout);
  const targets = r.stdout.split('\n').filter((l) => /<= \d+\.\d\d \S+: (met|NOT met)$/.test(l));
  assert.equal(targets.length, 4, r.stdout);
  assert.match(r.stdout, /# berth compacted \d+ times during the back-to-back runs, \d+ times in 2 quiet periods/);
});
