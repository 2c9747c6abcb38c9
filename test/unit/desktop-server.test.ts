// The dashboard server's logic without a browser or an engine: the Host/Origin/token checks, stats
// arithmetic, line splitting of logs, archive entry names, registry domains, and the hub that must open
// engine streams only while a page wants them.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'events';
import { PassThrough } from 'stream';
import { Guard, readCookie, SESSION_COOKIE } from '../../src/desktop/server/security';
import { compactStats } from '../../src/desktop/server/stats';
import { LineSplitter } from '../../src/desktop/server/logs';
import { cleanPath, normEntry } from '../../src/desktop/server/files';
import { imageForAuth, registryDomain } from '../../src/desktop/server/proxy';
import { Hub } from '../../src/desktop/server/hub';
import { parseArgs } from '../../src/desktop/server/main';
import type { Client } from '../../src/client';

describe('desktop security', () => {
  const g = new Guard(9965);
  it('accepts only the loopback names of its own port as Host', () => {
    for (const h of ['127.0.0.1:9965', 'localhost:9965', '[::1]:9965', 'LOCALHOST:9965']) assert.equal(g.checkHost(h).ok, true, h);
    for (const h of [undefined, '', '127.0.0.1', '127.0.0.1:9966', 'evil.example:9965', 'localhost.evil.example:9965', '0.0.0.0:9965']) {
      assert.equal(g.checkHost(h).ok, false, String(h));
    }
  });
  it('requires its own Origin for state changes', () => {
    assert.equal(g.checkOrigin('http://127.0.0.1:9965').ok, true);
    assert.equal(g.checkOrigin('http://localhost:9965').ok, true);
    for (const o of [undefined, 'null', 'http://127.0.0.1:9966', 'https://127.0.0.1:9965', 'http://evil.example']) assert.equal(g.checkOrigin(o).ok, false, String(o));
  });
  it('exchanges a launch token once for a session cookie', () => {
    const t = g.issueToken();
    const s = g.exchange(t);
    assert.ok(s);
    assert.equal(g.exchange(t), undefined, 'second use refused');
    assert.equal(g.exchange('forged'), undefined);
    assert.equal(g.hasSession(`a=b; ${SESSION_COOKIE}=${s}`), true);
    assert.equal(g.hasSession(`${SESSION_COOKIE}=${s}x`), false);
    assert.equal(g.hasSession(undefined), false);
    assert.match(Guard.sessionCookie(s!), /HttpOnly; SameSite=Strict/);
  });
  it('lets tokens expire', () => {
    const g2 = new Guard(1, 1000);
    const t = g2.issueToken(0);
    assert.equal(g2.exchange(t, 5000), undefined);
  });
  it('reads cookies', () => {
    assert.equal(readCookie('x=1; y = 2 ;z=3', 'y'), '2');
    assert.equal(readCookie('x=1', 'y'), undefined);
  });
});

describe('desktop stats', () => {
  it('computes CPU % and memory like the docker CLI', () => {
    const s = compactStats('c1', {
      read: '2026-01-01T00:00:01Z',
      cpu_stats: { cpu_usage: { total_usage: 3_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 10_000_000_000 },
      memory_stats: { usage: 10_000_000, limit: 100_000_000, stats: { inactive_file: 2_000_000 } },
      networks: { eth0: { rx_bytes: 100, tx_bytes: 50 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
      blkio_stats: { io_service_bytes_recursive: [{ op: 'Read', value: 10 }, { op: 'write', value: 20 }, { op: 'Total', value: 30 }] },
      pids_stats: { current: 3 },
    });
    assert.equal(s.cpu, 20); // (1e9 / 1e10) * 2 cpus * 100
    assert.equal(s.mem, 8_000_000);
    assert.deepEqual([s.netRx, s.netTx, s.blkRead, s.blkWrite, s.pids], [101, 52, 10, 20, 3]);
    assert.equal(s.t, Date.parse('2026-01-01T00:00:01Z'));
  });
  it('survives an empty or first sample', () => {
    const s = compactStats('c', {});
    assert.equal(s.cpu, 0);
    assert.equal(s.mem, 0);
  });
});

describe('desktop logs and files', () => {
  it('splits lines across chunks and multi-byte characters', () => {
    const out: string[] = [];
    const sp = new LineSplitter((l) => out.push(l), 8);
    const euro = Buffer.from('€');
    sp.push(Buffer.concat([Buffer.from('ab\r\nc'), euro.subarray(0, 1)]));
    sp.push(Buffer.concat([euro.subarray(1), Buffer.from('\n0123456789abc')]));
    sp.flush();
    assert.deepEqual(out, ['ab', 'c€', '01234567', '89abc']);
  });
  it('normalises paths and archive entry names', () => {
    assert.equal(cleanPath('/etc/../../x'), '/x');
    assert.equal(cleanPath(null), '/');
    assert.equal(cleanPath('etc/'), '/etc');
    assert.equal(normEntry('/bin/'), 'bin');
    assert.equal(normEntry('./etc/passwd'), 'etc/passwd');
    assert.equal(normEntry('/'), '');
  });
});

describe('desktop proxy', () => {
  it('finds the registry of an image reference', () => {
    assert.equal(registryDomain('busybox'), 'docker.io');
    assert.equal(registryDomain('library/busybox'), 'docker.io');
    assert.equal(registryDomain('127.0.0.1:5000/a/b'), '127.0.0.1:5000');
    assert.equal(registryDomain('localhost/x'), 'localhost');
    assert.equal(registryDomain('ghcr.io/o/r'), 'ghcr.io');
  });
  it('adds credentials only to pulls and pushes', () => {
    const p = (s: string) => new URLSearchParams(s);
    assert.equal(imageForAuth('POST', '/images/create', p('fromImage=reg:5000/x&tag=1')), 'reg:5000/x');
    assert.equal(imageForAuth('POST', '/images/create', p('fromSrc=-')), undefined);
    assert.equal(imageForAuth('POST', '/images/reg%3A5000/x/push', p('tag=1')), 'reg:5000/x');
    assert.equal(imageForAuth('GET', '/images/x/push', p('')), undefined);
  });
  it('parses the server process arguments', () => {
    assert.deepEqual(parseArgs(['--engine-host', 'unix:///s', '--state-dir', '/d', '--port=0']).port, 0);
    assert.throws(() => parseArgs(['--engine-host', 'unix:///s']), /usage/);
    assert.throws(() => parseArgs(['--engine-host', 'h', '--state-dir', 'd', '--port', '99999']), /invalid port/);
  });
});

/** A stand-in engine: counts the streams the hub opens and lets the test feed them. */
function fakeEngine() {
  const opened = { events: 0, stats: new Map<string, PassThrough>() };
  let events: PassThrough | undefined;
  const client = {
    async negotiateVersion() { return '1.43'; },
    async events() { opened.events++; events = new PassThrough(); return events; },
    async containerList() { return [{ Id: 'aaa' }, { Id: 'bbb' }]; },
    async containerStats(id: string) { const s = new PassThrough(); opened.stats.set(id, s); return s; },
  } as unknown as Client;
  return { client, opened, events: () => events! };
}

function fakePage() {
  const req = new EventEmitter();
  class Res extends EventEmitter {
    chunks: string[] = [];
    writableLength = 0;
    socket = null;
    writeHead() { return this; }
    write(c: string) { this.chunks.push(c); return true; }
    end() { this.emit('close'); }
  }
  const res = new Res();
  return { req, res };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('desktop hub', () => {
  it('opens engine streams only while a page is open and wants them', async () => {
    const eng = fakeEngine();
    const hub = new Hub(eng.client);
    assert.equal(eng.opened.events, 0, 'nothing before a page opens');
    const p = fakePage();
    hub.attach(p.req as never, p.res as never);
    await tick();
    assert.equal(eng.opened.events, 1);
    assert.equal(hub.statStreamCount, 0, 'no stats until asked');
    const page = /"page":"([^"]+)"/.exec(p.res.chunks[0])![1];
    hub.subscribe(page, 'all');
    await tick();
    assert.deepEqual([...eng.opened.stats.keys()].sort(), ['aaa', 'bbb']);
    // a sample arrives and is flushed to the page within a second
    eng.opened.stats.get('aaa')!.write(JSON.stringify({ read: '2026-01-01T00:00:00Z', memory_stats: { usage: 5 } }));
    await new Promise((r) => setTimeout(r, 1100));
    assert.ok(p.res.chunks.some((c) => c.startsWith('event: stats') && c.includes('"aaa"')));
    // an engine event reaches the page and keeps the running set
    eng.events().write(JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: 'bbb' } }));
    await tick();
    assert.ok(p.res.chunks.some((c) => c.startsWith('event: event') && c.includes('"die"')));
    assert.equal(hub.statStreamCount, 1, 'the stopped container\'s stats stream is closed');
    hub.subscribe(page, ['aaa', 'zzz']);
    await tick();
    assert.equal(hub.statStreamCount, 1);
    // the page closes: every engine stream closes with it
    p.req.emit('close');
    await tick();
    assert.equal(hub.pageCount, 0);
    assert.equal(hub.statStreamCount, 0);
    assert.equal(hub.eventsOpen, false);
    assert.equal(eng.events().destroyed, true);
  });
});
