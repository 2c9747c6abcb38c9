// Compose's progress display: plain lines, JSON lines and the TTY redraw (header, spinner → check mark, timers),
// and the service graph's parallel order.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createProgress } from '../../src/compose/progress';
import { traverse, checkCycles } from '../../src/compose/graph';
import type { ServiceConfig } from '../../src/compose/types';

const sink = (isTTY = false) => {
  const out = { text: '', isTTY, columns: 60, write(s: string) { out.text += s; return true; } };
  return out;
};

test('plain and JSON progress lines', () => {
  const plain = sink();
  const p = createProgress({ mode: 'auto', out: plain });
  p.start('Running');
  p.event({ id: 'Container x-web-1', text: 'Creating', status: 'working' });
  p.event({ id: 'Container x-web-1', text: 'Created', status: 'done' });
  p.done();
  assert.equal(plain.text, ' Container x-web-1 Creating \n Container x-web-1 Created \n');
  const json = sink();
  const j = createProgress({ mode: 'json', out: json });
  j.event({ id: 'Network x_default', text: 'Created', status: 'done' });
  j.event({ id: 'Container x-db-1', text: 'Error', status: 'error', details: 'boom' });
  assert.deepEqual(json.text.trim().split('\n').map((l) => JSON.parse(l)), [
    { id: 'Network x_default', status: 'Done', text: 'Created' },
    { id: 'Container x-db-1', status: 'Error', text: 'Error', details: 'boom' },
  ]);
  const quiet = sink();
  createProgress({ mode: 'quiet', out: quiet }).event({ id: 'a', text: 'b', status: 'done' });
  assert.equal(quiet.text, '');
});

test('the TTY display redraws one line per object under a [+] header', () => {
  const tty = sink(true);
  const p = createProgress({ mode: 'auto', out: tty, color: false });
  p.start('Running');
  p.event({ id: 'Container x-db-1', text: 'Starting', status: 'working' });
  p.event({ id: 'Container x-web-1', text: 'Created', status: 'done' });
  p.event({ id: 'Container x-db-1', text: 'Healthy', status: 'done' });
  p.done();
  const screen = tty.text.split('\x1b[?25l').pop()!.replace(/\x1b\[[0-9;]*[A-Za-z]|\x1b\[\?25h|\r/g, '');
  const lines = screen.split('\n').filter(Boolean);
  assert.equal(lines[0], '[+] Running 2/2');
  assert.match(lines[1], /^ ✔ Container x-db-1  Healthy +\d+\.\ds$/);
  assert.match(lines[2], /^ ✔ Container x-web-1 Created +\d+\.\ds$/);
  assert.ok(lines.every((l) => l.length < 60), 'lines fit the terminal');
});

test('the graph: independent services in parallel, dependents after, reverse for teardown, cycles refused', async () => {
  const s = (deps: string[] = []): ServiceConfig => ({ depends_on: Object.fromEntries(deps.map((d) => [d, { condition: 'service_started', required: true }])) });
  const services = { db: s(), cache: s(), web: s(['db', 'cache']), worker: s(['db']) };
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  await traverse(services, Object.keys(services), async (n) => {
    inFlight++; maxInFlight = Math.max(maxInFlight, inFlight);
    log.push(`start ${n}`);
    await new Promise((r) => setTimeout(r, 10));
    log.push(`end ${n}`);
    inFlight--;
  });
  assert.ok(maxInFlight >= 2, 'db and cache ran together');
  assert.ok(log.indexOf('start web') > log.indexOf('end db') && log.indexOf('start web') > log.indexOf('end cache'));
  assert.ok(log.indexOf('start worker') > log.indexOf('end db'));
  const down: string[] = [];
  await traverse(services, Object.keys(services), async (n) => { down.push(n); }, true);
  assert.ok(down.indexOf('db') > down.indexOf('web') && down.indexOf('db') > down.indexOf('worker'));
  assert.throws(() => checkCycles({ a: s(['b']), b: s(['a']) }), { message: 'dependency cycle detected: a -> b -> a' });
  await assert.rejects(traverse(services, ['web', 'db'], async (n) => { if (n === 'db') throw new Error('db failed'); }), { message: 'db failed' });
});
