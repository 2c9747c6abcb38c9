// The daemon's idle compaction: the trigger (runs once the API has been quiet, never during activity) and the
// compaction itself in a live process.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { IdleTrigger, type IdleClock } from '../../src/daemon/idle';
import { compactMemory } from '../../src/daemon/compact';
import { createHash } from 'crypto';

/** A manual clock: advance(ms) moves time and fires the timers that fall due, in order. */
class FakeClock implements IdleClock {
  t = 0;
  timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  now(): number { return this.t; }
  setTimeout(fn: () => void, ms: number): { unref(): void; id: number } {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return { unref: () => undefined, id };
  }
  clearTimeout(h: unknown): void { this.timers = this.timers.filter((x) => x.id !== (h as { id: number }).id); }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

test('idle trigger: runs once after the quiet period from start, not again while still quiet', () => {
  const clock = new FakeClock();
  let runs = 0;
  new IdleTrigger(5000, () => runs++, clock);
  clock.advance(4999);
  assert.equal(runs, 0);
  clock.advance(1);
  assert.equal(runs, 1);
  clock.advance(60_000);
  assert.equal(runs, 1, 'once per quiet period');
  assert.equal(clock.timers.length, 0, 'no timer left while idle');
});

test('idle trigger: activity keeps postponing it; it runs quietMs after the last activity', () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const idle = new IdleTrigger(5000, () => at.push(clock.now()), clock);
  // a busy daemon: a request every second for 20 s
  for (let i = 0; i < 20; i++) { clock.advance(1000); idle.activity(); }
  assert.deepEqual(at, [], 'never during activity');
  clock.advance(4999);
  assert.deepEqual(at, []);
  clock.advance(1);
  assert.deepEqual(at, [25_000]);
  assert.ok(clock.timers.length === 0);
});

test('idle trigger: a new quiet period after activity runs it again; close() stops it', () => {
  const clock = new FakeClock();
  let runs = 0;
  const idle = new IdleTrigger(5000, () => runs++, clock);
  clock.advance(6000);
  assert.equal(runs, 1);
  idle.activity();
  clock.advance(6000);
  assert.equal(runs, 2);
  idle.activity();
  idle.close();
  clock.advance(60_000);
  assert.equal(runs, 2);
  idle.activity();
  clock.advance(60_000);
  assert.equal(runs, 2, 'closed for good');
});

test('compaction in a live process: freed native and JS memory goes back to the system, and the process runs on', () => {
  // ~62 MiB of buffers (malloc'd outside the V8 heap) and ~10 MiB of JS objects, all garbage once dropped
  let garbage: unknown[] | undefined = Array.from({ length: 1000 }, () => Buffer.alloc(64 * 1024, 1));
  garbage.push(Array.from({ length: 100_000 }, (_, i) => ({ i, s: `y${i}` })));
  const keep = Array.from({ length: 2000 }, (_, i) => ({ i, s: `x${i}` }));
  garbage = undefined;
  const { before, after } = compactMemory();
  assert.ok(before - after >= 30, `RSS ${before} -> ${after} MiB: the garbage was given back`);
  assert.equal(JSON.parse(JSON.stringify(keep))[1999].s, 'x1999');
  assert.equal(createHash('sha256').update('berth').digest('hex').length, 64);
  assert.ok(compactMemory().after > 0);
});
