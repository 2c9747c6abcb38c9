// docker-py 7.1.0's own integration suite (../shared/peer-suites, Debian's pytest) against a berth daemon this
// file starts (own data root, socket, bridge). CI fails when a test listed in docker-py/expected-pass.txt — the
// tests that pass on Debian's dockerd, minus the differences in docker-py/differences.txt, each with its reason —
// does not pass on berth. How the lists were made: docker-py/README.md.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO, TestDaemon, runCmd } from '../helpers/daemon';
import { parseJunit, readTestList, type Outcome } from './docker-py/junit';

const HERE = path.join(REPO, 'test/compat/docker-py');
const d = new TestDaemon('docker-py');
const out = mkdtempSync(path.join(os.tmpdir(), 'berth-docker-py-out-'));

before(async () => { await d.start(); });
after(async () => {
  await d.stop();
  rmSync(out, { recursive: true, force: true });
});

test('docker-py 7.1.0 integration suite: every test that passes on dockerd passes on berth', { timeout: 40 * 60_000 }, async () => {
  const t0 = Date.now();
  // pytest exits 1 when any test fails (swarm tests do, by design): the verdict is the expectation list's
  const run = await runCmd('bash', [path.join(HERE, 'run-suite'), d.host, out], { timeoutMs: 35 * 60_000 });
  const log = readFileSync(path.join(out, 'log.txt'), 'utf8');
  assert.ok([0, 1].includes(run.code), `run-suite exited ${run.code}:\n${run.stderr}\n${log.slice(-4000)}`);
  const results = parseJunit(readFileSync(path.join(out, 'junit.xml'), 'utf8'));
  const expected = readTestList(readFileSync(path.join(HERE, 'expected-pass.txt'), 'utf8'));
  const differences = readTestList(readFileSync(path.join(HERE, 'differences.txt'), 'utf8'));

  const count = (o: Outcome) => [...results.values()].filter((r) => r.outcome === o).length;
  process.stdout.write(`# docker-py on berth: ${count('passed')} passed, ${count('failed')} failed, ${count('error')} errors, ` +
    `${count('skipped')} skipped of ${results.size} in ${Math.round((Date.now() - t0) / 1000)} s; ${expected.size} expected to pass\n`);

  assert.ok(expected.size > 200, `expected-pass.txt lists only ${expected.size} tests`);
  for (const id of differences.keys()) assert.ok(!expected.has(id), `${id} is both expected to pass and a known difference`);
  const broken: string[] = [];
  for (const id of expected.keys()) {
    const r = results.get(id);
    if (!r) broken.push(`${id}: not run (renamed, deselected or not collected)`);
    else if (r.outcome !== 'passed') broken.push(`${id}: ${r.outcome}: ${r.message.slice(0, 300)}`);
  }
  assert.deepEqual(broken, [], `tests that pass on dockerd failed on berth:\n${broken.join('\n')}`);
});
