// POST /containers/{id}/wait in the engine: a waiter whose client went away (an aborted signal) is dropped, so a
// `docker run -d` (the CLI registers a next-exit wait and exits) leaves nothing held until the container exits.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EngineCore, type EngineOptions } from '../../src/engine/containers/core';
import type { ContainerRecord } from '../../src/engine/containers/types';

async function coreWithContainer(): Promise<{ core: EngineCore; id: string; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-wait-'));
  const core = new EngineCore({ dataRoot: dir, execRoot: dir } as EngineOptions);
  const id = 'a'.repeat(64);
  await core.store.add({ Id: id, Name: '/waited', State: { Status: 'running', Pid: 0, ExitCode: 0 } } as unknown as ContainerRecord);
  return { core, id, dir };
}

test('wait: an aborted waiter is dropped and rejects; the others are still woken', async () => {
  const { core, id, dir } = await coreWithContainer();
  try {
    const abort = new AbortController();
    const gone = core.wait(id, 'next-exit', abort.signal);
    const kept = core.wait(id, 'next-exit');
    assert.equal(core.waiterCount(id), 2);
    abort.abort();
    await assert.rejects(gone, { name: 'AbortError' });
    assert.equal(core.waiterCount(id), 1);
    core.notify(core.store.get(id), 'next-exit', { StatusCode: 3 });
    assert.deepEqual(await kept, { StatusCode: 3 });
    assert.equal(core.waiterCount(id), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wait: a signal aborted after the wake changes nothing; one aborted before registers nothing', async () => {
  const { core, id, dir } = await coreWithContainer();
  try {
    const abort = new AbortController();
    const w = core.wait(id, 'removed', abort.signal);
    core.notify(core.store.get(id), 'removed', { StatusCode: 0 });
    abort.abort(); // the response closing after it was answered
    assert.deepEqual(await w, { StatusCode: 0 });
    await assert.rejects(core.wait(id, 'next-exit', abort.signal), { name: 'AbortError' });
    assert.equal(core.waiterCount(id), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
