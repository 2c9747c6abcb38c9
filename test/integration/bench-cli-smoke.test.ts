// CI's short run of bench/cli.ts (the berth CLI beside the docker CLI on one daemon): every row runs and prints
// its figures. A smoke test only: benchmarks are not tests, so nothing here looks at the times.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { runCmd, REPO } from '../helpers/daemon';

test('bench/cli runs every row (smoke: 1 repetition, 5 containers, no timing asserts)', async () => {
  const r = await runCmd(process.execPath, [path.join(REPO, 'build/bench/cli.js')], { env: { BENCH_REPS: '1', BENCH_CONTAINERS: '5' }, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const rows = r.stdout.split('\n').filter((l) => /^(--version|ps -a|images|inspect|logs|exec|run --rm)/.test(l));
  assert.equal(rows.length, 7, r.stdout);
  for (const row of rows) assert.match(row, /\d+\.\d+ +\d+\.\d+ +\d+\.\d\d +<= /, row);
});
