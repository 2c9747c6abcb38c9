// Unit tests for the failpoint parser and actions (src/common/failpoint.ts); the crash action is exercised by
// test/faults/crash-points.test.ts against a real daemon.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseFailpoints, failpoint, failpointSync, resetFailpoints } from '../../src/common/failpoint';
import { EngineError } from '../../src/common/errors';

test('failpoints: the variable is parsed; a typo is an error, never silently nothing', () => {
  const m = parseFailpoints('a.b=crash; c-d=3*error ,e=delay(25)');
  assert.deepEqual([...m.entries()], [
    ['a.b', { action: { kind: 'crash' }, from: 1 }],
    ['c-d', { action: { kind: 'error' }, from: 3 }],
    ['e', { action: { kind: 'delay', ms: 25 }, from: 1 }],
  ]);
  assert.equal(parseFailpoints('').size, 0);
  for (const bad of ['a=explode', 'a', '=crash', 'a=delay', 'a=delay(x)', 'a=0x*error']) assert.throws(() => parseFailpoints(bad), /BERTH_FAILPOINTS/, bad);
});

test('failpoints: error fires from the N-th pass on as a 500; delay waits; unarmed points do nothing', async () => {
  const saved = process.env.BERTH_FAILPOINTS;
  process.env.BERTH_FAILPOINTS = 'x=2*error;y=delay(60);z=error';
  resetFailpoints();
  try {
    await failpoint('x'); // first pass: armed from the second
    await assert.rejects(failpoint('x'), (e: unknown) => e instanceof EngineError && e.status === 500 && /failpoint x: injected error/.test(e.message));
    await assert.rejects(failpoint('x'), /injected error/);
    const t0 = Date.now();
    await failpoint('y');
    assert.ok(Date.now() - t0 >= 50, 'delay did not wait');
    assert.throws(() => failpointSync('z'), /failpoint z/);
    failpointSync('y'); // no delay in synchronous code
    await failpoint('unarmed');
  } finally {
    if (saved === undefined) delete process.env.BERTH_FAILPOINTS; else process.env.BERTH_FAILPOINTS = saved;
    resetFailpoints();
  }
});
