// Faults of the host's network state: a second daemon on the first one's bridge, the bridge or the iptables
// chains removed by something else under a running daemon, and published host ports that another process (or
// daemon) tries to take — also across a daemon restart. Each test names the fault it covers.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'net';
import { TestDaemon, RunResult, runCmd, waitFor } from '../helpers/daemon';

const canRun = process.getuid?.() === 0;
const T = { skip: canRun ? false : 'needs root', timeout: 120_000 };
const a = new TestDaemon('own-a');
a.env = { BERTH_NET_REPAIR_MS: '300' };
const extra: TestDaemon[] = [];

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };

before(async () => {
  if (!canRun) return;
  await a.start();
  await a.loadBusybox();
});
after(async () => {
  if (!canRun) return;
  for (const d of extra) await d.stop().catch(() => undefined);
  await a.stop();
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '0.0.0.0', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

/** Whether the host can bind the TCP port on all addresses right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '0.0.0.0', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** An HTTP GET to 127.0.0.1:port (through the DNAT rules); the body, or undefined when nothing answers. */
function get(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, timeout: 2000 });
    let buf = '';
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', (c) => { buf += c; });
    s.on('end', () => resolve(buf || undefined));
    s.on('timeout', () => { s.destroy(); resolve(undefined); });
    s.on('error', () => resolve(undefined));
  });
}

async function webServer(d: TestDaemon, name: string, port: number): Promise<string> {
  const id = ok(await d.docker(['run', '-d', '--name', name, '-p', `${port}:80`, 'busybox', 'sh', '-c',
    `mkdir -p /www && echo hello-${name} > /www/index.html && exec httpd -f -p 80 -h /www`]), `run ${name}`);
  await waitFor(async () => (await get(port))?.includes(`hello-${name}`), 15_000, `${name} answering on ${port}`);
  return id;
}

test('fault: a second daemon on the first one\'s bridge refuses to start, naming the first; the first keeps its veths and ports', T, async () => {
  const port = await freePort();
  await webServer(a, 'web-a', port);
  const vethsBefore = (await runCmd('ip', ['-o', 'link', 'show', 'master', a.bridge])).stdout;
  const b = new TestDaemon('own-b');
  extra.push(b);
  b.bridge = a.bridge;
  b.subnet = a.subnet;
  await assert.rejects(b.start(), /did not start/);
  assert.match(b.log, new RegExp(`bridge ${a.bridge} belongs to the berth daemon with data root ${a.dataRoot.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(running, pid \\d+\\)`));
  assert.match(b.log, /--bridge and --bip/);
  await b.stop();
  assert.equal((await runCmd('ip', ['-o', 'link', 'show', 'master', a.bridge])).stdout, vethsBefore, 'the first daemon\'s veths changed');
  assert.match((await get(port)) ?? '', /hello-web-a/, 'the first daemon\'s published port died');
  ok(await a.docker(['rm', '-f', 'web-a']), 'rm');
});

test('fault: the bridge deleted under a running daemon — noticed and repaired, the published port answers again', T, async () => {
  const port = await freePort();
  await webServer(a, 'web-repair', port);
  ok(await runCmd('ip', ['link', 'del', a.bridge]), 'ip link del');
  await waitFor(async () => (await get(port))?.includes('hello-web-repair'), 20_000, 'the port to answer after the repair');
  assert.match(a.log, /repairing state that something else removed/);
  ok(await a.docker(['rm', '-f', 'web-repair']), 'rm');
});

test('fault: the NAT chain flushed under a running daemon — the DNAT rules come back', T, async () => {
  const port = await freePort();
  await webServer(a, 'web-flush', port);
  ok(await runCmd('iptables', ['-w', '-t', 'nat', '-F', `BERTH-DNAT-${a.bridge}`]), 'iptables -F');
  await waitFor(async () => (await get(port))?.includes('hello-web-flush'), 20_000, 'the port to answer after the repair');
  ok(await a.docker(['rm', '-f', 'web-flush']), 'rm');
});

test('fault: published ports are held — no process can bind them, also after a daemon restart; freed at rm', T, async () => {
  const port = await freePort();
  await webServer(a, 'web-hold', port);
  assert.equal(await canBind(port), false, 'a host process could bind a published port');
  await a.kill();
  await a.start();
  assert.equal(await canBind(port), false, 'after a daemon restart a host process could bind a published port');
  assert.match((await get(port)) ?? '', /hello-web-hold/);
  // another daemon (with a bridge of its own) is refused the port too
  const c = new TestDaemon('own-c');
  extra.push(c);
  await c.start();
  await c.loadBusybox();
  const r = await c.docker(['run', '-d', '-p', `${port}:80`, 'busybox', 'sleep', '60']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /port is already allocated/);
  ok(await a.docker(['rm', '-f', 'web-hold']), 'rm');
  assert.equal(await canBind(port), true, 'the port stayed held after rm');
});
