// The daemon's idle compaction: the trigger (runs once the API has been quiet, never during activity) and the
// choice of the pages compaction may drop (only clean, private, read-only mappings of the executable).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'fs';
import { IdleTrigger, type IdleClock } from '../../src/daemon/idle';
import { cleanExecutableRanges, compactMemory } from '../../src/daemon/compact';
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

const SMAPS = `00400000-00b6f000 r--p 00000000 fe:00 260689                             /usr/bin/node
Size:               7612 kB
Rss:                5948 kB
Anonymous:             0 kB
00b72000-025fe000 r-xp 00772000 fe:00 260689                             /usr/bin/node
Size:              27184 kB
Rss:               16632 kB
Anonymous:             0 kB
05600000-0563a000 r--p 05200000 fe:00 260689                             /usr/bin/node
Size:                232 kB
Rss:                 232 kB
Anonymous:           232 kB
0563e000-0565d000 rw-p 0523d000 fe:00 260689                             /usr/bin/node
Size:                124 kB
Rss:                 124 kB
Anonymous:            12 kB
0565d000-0567d000 r--p 0525d000 fe:00 260689                             /usr/bin/node
Size:                128 kB
Rss:                   0 kB
Anonymous:             0 kB
7f0000000000-7f0000100000 r-xp 00000000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6
Size:               1024 kB
Rss:                1024 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 r--s 00000000 fe:00 260689                     /usr/bin/node
Size:               1024 kB
Rss:                1024 kB
Anonymous:             0 kB
7f930f600000-7f930f792000 r-xp 014c4000 fe:00 260689                     /usr/bin/node
Size:               1608 kB
Rss:                 576 kB
Anonymous:             0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
Rss:                  40 kB
Anonymous:            40 kB
`;

test('compaction drops only private, read-only, resident mappings of the executable with no copied-on-write page', () => {
  const got = cleanExecutableRanges(SMAPS, '/usr/bin/node').map((r) => [r.start.toString(16), r.length.toString(16)]);
  assert.deepEqual(got, [
    ['400000', (0xb6f000 - 0x400000).toString(16)],
    ['b72000', (0x25fe000 - 0xb72000).toString(16)],
    ['7f930f600000', (0x7f930f792000 - 0x7f930f600000).toString(16)],
  ]);
  // not: relocated RELRO data (anonymous pages), the writable data, nothing resident, another file, a shared mapping
  assert.deepEqual(cleanExecutableRanges(SMAPS, '/usr/bin/other'), []);
});

test('compaction finds the running node binary\'s text in this process\'s own smaps', () => {
  const exe = readlinkSync('/proc/self/exe');
  const ranges = cleanExecutableRanges(readFileSync('/proc/self/smaps', 'utf8'), exe);
  assert.ok(ranges.length > 0, 'the executable\'s text is mapped and resident');
  assert.ok(ranges.reduce((a, r) => a + r.length, 0) > 1 << 20);
});

test('compaction in a live process: memory is given back and the process runs on (code, heap, natives)', () => {
  const keep = Array.from({ length: 2000 }, (_, i) => ({ i, s: `x${i}` }));
  const { before, after } = compactMemory();
  assert.ok(before > 0 && after > 0);
  assert.ok(after <= before, `RSS ${before} → ${after} MiB`);
  // code from the dropped text pages runs again: JSON, regexes, crypto (OpenSSL in the binary), compaction itself
  assert.equal(JSON.parse(JSON.stringify(keep))[1999].s, 'x1999');
  assert.match('abc-123', /^[a-z]+-(\d+)$/);
  assert.equal(createHash('sha256').update('berth').digest('hex').length, 64);
  assert.ok(compactMemory().after > 0);
});
