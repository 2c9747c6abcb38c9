// CI's short run of bench/core.ts (berth beside dockerd and raw crun): every row and every target line runs and
// prints its figures. A smoke test only: benchmarks are not tests, so nothing here looks at the times.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { runCmd, REPO } from '../helpers/daemon';

test('bench/core runs every row (smoke: 1 repetition, a few containers, no timing asserts)', async () => {
  const env = { BENCH_REPS: '1', BENCH_CONTAINERS: '2', BENCH_PS_CONTAINERS: '3', BENCH_MEM_CONTAINERS: '3', BENCH_IDLE_MS: '0' };
  const r = await runCmd(process.execPath, [path.join(REPO, 'build/bench/core.js')], { env, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /load average \d/);
  const rows = r.stdout.split('\n').filter((l) => / (berth|floor) +-?\d+\.\d +\S.* +-?\d+\.\d +ratio /.test(l));
  assert.equal(rows.length, 18, r.stdout);
  const targets = r.stdout.split('\n').filter((l) => /<= \d+\.\d\d \S+: (met|NOT met)$/.test(l));
  assert.equal(targets.length, 9, r.stdout);
});
