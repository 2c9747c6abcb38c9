import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { KeyedQueue } from '../../src/common/keyed-queue';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('keyed queue: one operation at a time per key, keys independent, a failure does not block the next', async () => {
  const q = new KeyedQueue();
  const order: string[] = [];
  const op = (name: string, ms: number, fail = false) => async () => {
    order.push(`${name}+`); await tick(ms); order.push(`${name}-`);
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = q.run('a', op('a1', 30, true));
  const a2 = q.run('a', op('a2', 1));
  const b1 = q.run('b', op('b1', 5));
  await assert.rejects(a1, /a1/);
  assert.equal(await a2, 'a2');
  assert.equal(await b1, 'b1');
  // a2 starts only after a1 ended; b1 ran beside a1
  assert.ok(order.indexOf('a2+') > order.indexOf('a1-'));
  assert.ok(order.indexOf('b1-') < order.indexOf('a1-'));
  await tick(1);
  assert.equal((q as unknown as { tails: Map<string, unknown> }).tails.size, 0, 'settled keys are forgotten');
});
