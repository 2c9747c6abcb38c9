// The classic builder's cache index (src/build/cache.ts): keys, persistence, stale entries, removal.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BuildCache, cacheKey } from '../../src/build/cache';

test('cacheKey depends on the parent, the instruction and the extra inputs', () => {
  const k = cacheKey('sha256:a', 'RUN x', ['A=1']);
  assert.equal(k, cacheKey('sha256:a', 'RUN x', ['A=1']));
  assert.notEqual(k, cacheKey('sha256:b', 'RUN x', ['A=1']));
  assert.notEqual(k, cacheKey('sha256:a', 'RUN y', ['A=1']));
  assert.notEqual(k, cacheKey('sha256:a', 'RUN x', ['A=2']));
  assert.notEqual(cacheKey('p', 'ab', ['c']), cacheKey('p', 'a', ['bc']));
});

test('entries persist across opens; stale ones are misses; remove forgets', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bcache-'));
  try {
    const c = await BuildCache.open(dir);
    await c.put('k1', 'sha256:img1', 'sha256:p', 'RUN a');
    await c.put('k2', 'sha256:img2', 'sha256:p', 'RUN b');
    const again = await BuildCache.open(dir);
    assert.equal(again.lookup('k1', () => true), 'sha256:img1');
    assert.equal(again.lookup('k2', (id) => id !== 'sha256:img2'), undefined);
    await again.save();
    const third = await BuildCache.open(dir);
    assert.deepEqual(third.list().map(([k]) => k), ['k1']);
    await third.remove(['k1']);
    assert.equal((await BuildCache.open(dir)).list().length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
