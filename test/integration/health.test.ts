// Healthchecks with real containers, driven by the real docker CLI: starting → unhealthy after its retries →
// healthy again, the probe log, ps's "(healthy)", health_status events, --no-healthcheck, the image's HEALTHCHECK,
// timeouts, and probing that goes on after a daemon restart.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { TestDaemon, RunResult, waitFor } from '../helpers/daemon';

const d = new TestDaemon('health');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };
const health = async (name: string) => JSON.parse(ok(await d.docker(['inspect', '-f', '{{json .State.Health}}', name]), 'inspect'));
const status = async (name: string) => (await health(name))?.Status as string | undefined;

test('a failing healthcheck turns unhealthy after its retries, healthy once it passes; ps and events show it', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  ok(await d.docker(['run', '-d', '--name', 'hc1', '--health-cmd', 'test -f /tmp/ok && echo fine', '--health-interval', '300ms',
    '--health-retries', '3', 'busybox', 'sleep', '120']), 'run');
  try {
    assert.equal(await status('hc1'), 'starting');
    assert.match(ok(await d.docker(['ps', '--filter', 'name=hc1', '--format', '{{.Status}}']), 'ps'), /\(health: starting\)$/);
    await waitFor(async () => (await status('hc1')) === 'unhealthy', 10_000, 'unhealthy');
    const h = await health('hc1');
    assert.ok(h.FailingStreak >= 3, JSON.stringify(h));
    assert.ok(h.Log.length >= 3 && h.Log.length <= 5);
    assert.equal(h.Log[h.Log.length - 1].ExitCode, 1);
    assert.match(ok(await d.docker(['ps', '--filter', 'name=hc1', '--format', '{{.Status}}']), 'ps'), /\(unhealthy\)$/);
    ok(await d.docker(['exec', 'hc1', 'touch', '/tmp/ok']), 'touch');
    await waitFor(async () => (await status('hc1')) === 'healthy', 10_000, 'healthy');
    const healthy = await health('hc1');
    assert.equal(healthy.FailingStreak, 0);
    assert.equal(healthy.Log[healthy.Log.length - 1].Output, 'fine\n');
    assert.match(ok(await d.docker(['ps', '--filter', 'name=hc1', '--format', '{{.Status}}']), 'ps'), /\(healthy\)$/);
    const until = Math.floor(Date.now() / 1000) + 1;
    const events = ok(await d.docker(['events', '--since', String(since), '--until', String(until), '--filter', 'container=hc1',
      '--filter', 'event=health_status', '--format', '{{.Action}}']), 'events').split('\n');
    assert.deepEqual(events, ['health_status: unhealthy', 'health_status: healthy']);
    // the filter docker users use to wait for health
    assert.equal(ok(await d.docker(['ps', '-q', '--filter', 'health=healthy', '--filter', 'name=hc1']), 'ps health').length, 12);
  } finally {
    await d.docker(['rm', '-f', 'hc1']);
  }
});

test('timeouts count as failures; the CMD form and --no-healthcheck', async () => {
  ok(await d.docker(['run', '-d', '--name', 'hc2', '--health-cmd', 'sleep 5', '--health-interval', '200ms', '--health-timeout', '300ms',
    '--health-retries', '1', 'busybox', 'sleep', '120']), 'run');
  try {
    await waitFor(async () => (await status('hc2')) === 'unhealthy', 10_000, 'unhealthy by timeout');
    const h = await health('hc2');
    assert.equal(h.Log[0].ExitCode, -1);
    assert.match(h.Log[0].Output, /Health check exceeded timeout \(0\.3s\)/);
  } finally {
    await d.docker(['rm', '-f', 'hc2']);
  }
  // the exec (CMD) form through the API, and a container that turns healthchecks off
  const cfg = await d.api('POST', '/containers/create?name=hcbase', { Image: 'busybox', Cmd: ['sleep', '120'], Healthcheck: { Test: ['CMD', 'true'], Interval: 200_000_000 } });
  assert.equal(cfg.status, 201);
  try {
    ok(await d.docker(['start', 'hcbase']), 'start');
    await waitFor(async () => (await status('hcbase')) === 'healthy', 10_000, 'CMD form healthy');
    ok(await d.docker(['run', '-d', '--name', 'hcoff', '--no-healthcheck', 'busybox', 'sleep', '120']), 'no-healthcheck');
    assert.equal(ok(await d.docker(['inspect', '-f', '{{json .State.Health}}', 'hcoff']), 'inspect'), 'null');
    assert.doesNotMatch(ok(await d.docker(['ps', '--filter', 'name=hcoff', '--format', '{{.Status}}']), 'ps'), /health/);
  } finally {
    await d.docker(['rm', '-f', 'hcbase', 'hcoff']);
  }
});

test('probing goes on after a daemon restart', async () => {
  ok(await d.docker(['run', '-d', '--name', 'hc3', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms', '--health-retries', '1',
    'busybox', 'sh', '-c', 'touch /tmp/ok; exec sleep 120']), 'run');
  try {
    await waitFor(async () => (await status('hc3')) === 'healthy', 10_000, 'healthy');
    await d.kill();
    await d.start();
    ok(await d.docker(['exec', 'hc3', 'rm', '/tmp/ok']), 'rm');
    await waitFor(async () => (await status('hc3')) === 'unhealthy', 10_000, 'unhealthy after restart');
  } finally {
    await d.docker(['rm', '-f', 'hc3']);
  }
});
