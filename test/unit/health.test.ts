// Healthcheck configuration rules: the probe command of each Test form, Docker's field-by-field merge of the
// container's healthcheck over the image's, and ps's status suffix.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { healthSuffix, mergeHealthcheck, probeCommand } from '../../src/engine/containers/health';

test('probe command of each Test form', () => {
  assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'curl -f localhost'] }), ['/bin/sh', '-c', 'curl -f localhost']);
  assert.deepEqual(probeCommand({ Test: ['CMD', 'true', 'x'] }), ['true', 'x']);
  assert.equal(probeCommand({ Test: ['NONE'] }), undefined);
  assert.equal(probeCommand({ Test: [] }), undefined);
  assert.equal(probeCommand(undefined), undefined);
  assert.equal(probeCommand({ Test: ['CMD'] }), undefined);
});

test('the container healthcheck overrides the image one field by field', () => {
  const image = { Test: ['CMD', 'img'], Interval: 5, Timeout: 6, Retries: 7 };
  assert.deepEqual(mergeHealthcheck({ Interval: 1 }, image), { Test: ['CMD', 'img'], Interval: 1, Timeout: 6, StartPeriod: undefined, StartInterval: undefined, Retries: 7 });
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image)?.Test, ['NONE']);
  assert.equal(mergeHealthcheck(undefined, image), image);
  assert.equal(mergeHealthcheck(undefined, undefined), undefined);
});

test('ps suffix', () => {
  assert.equal(healthSuffix(undefined), '');
  assert.equal(healthSuffix({ Status: 'starting', FailingStreak: 0, Log: [] }), ' (health: starting)');
  assert.equal(healthSuffix({ Status: 'healthy', FailingStreak: 0, Log: [] }), ' (healthy)');
  assert.equal(healthSuffix({ Status: 'unhealthy', FailingStreak: 3, Log: [] }), ' (unhealthy)');
});
