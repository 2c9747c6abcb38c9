// `berth desktop` from nothing: with no engine answering on its (private) socket it starts `berth daemon`
// detached, serves the dashboard, prints a one-time link that signs Chromium in; `status` describes both,
// a second run hands out a new link, and `stop` ends the dashboard and the engine it started.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'http';
import { existsSync, readFileSync } from 'fs';
import * as path from 'path';
import { TestDaemon } from '../helpers/daemon';
import { launchBrowser } from '../helpers/browser';

const n = process.pid % 250;
// the engine this test has `berth desktop` start is its own: bridge bd…, subnet in 10.62.0.0/16
const d = new TestDaemon('desktop-cli', { bridge: `bdc${process.pid % 100000}`, subnet: `10.62.${n}.0/24` });
const stateDir = path.join(d.dir, 'desktop');
const daemonArgs = [`--daemon-arg=--data-root=${d.dataRoot}`, `--daemon-arg=--exec-root=${d.execRoot}`, `--daemon-arg=--bridge=${d.bridge}`, `--daemon-arg=--bip=${d.subnet}`];

function desktop(args: string[]) {
  return d.berth(['-H', d.host, 'desktop', '--state-dir', stateDir, ...args], { env: { DISPLAY: '', WAYLAND_DISPLAY: '' }, timeoutMs: 120_000 });
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    }).on('error', reject);
  });
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

describe('berth desktop with no engine running', { timeout: 300_000 }, () => {
  let pids: number[] = [];
  before(() => { assert.equal(existsSync(d.socket), false); });
  after(async () => {
    // whatever the test left running goes: the dashboard, then the engine, then its network and files
    await desktop(['stop']).catch(() => undefined);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await d.stop();
  });

  it('starts the engine, serves the page and prints a one-time link', async () => {
    const r = await desktop(['--no-browser', '--port', '0', ...daemonArgs]);
    assert.equal(r.code, 0, r.stderr + readLog('daemon.log') + readLog('desktop.log'));
    assert.match(r.stderr, /Starting the berth engine/);
    const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(r.stdout)?.[0];
    assert.ok(url, r.stdout);
    const st = await desktop(['status']);
    assert.equal(st.code, 0);
    assert.match(st.stdout, /Dashboard: +running \(pid (\d+)\)/);
    assert.match(st.stdout, /started by berth desktop, pid (\d+)/);
    pids = [...st.stdout.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    // the engine answers on its socket
    const ping = await d.api('GET', '/_ping');
    assert.equal(ping.status, 200);
    // the link signs a real browser in, and the containers view shows
    const br = await launchBrowser();
    try {
      const page = await br.context.newPage();
      await page.goto(url!);
      await page.waitForSelector('[data-view="containers"]', { timeout: 30_000 }).catch(async (err) => {
        throw new Error(`${(err as Error).message}\npage ${page.url()}: ${(await page.content()).slice(0, 400)}${readLog('desktop.log')}`);
      });
      await page.waitForSelector('text=No containers yet', { timeout: 30_000 });
      assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');
    } finally {
      await br.close();
    }
    // used once: the same link is refused now
    const again = await get(url!);
    assert.equal(again.status, 403);
  });

  it('hands out a new link when already running', async () => {
    const r = await desktop(['--no-browser']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Starting the berth engine/);
    const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(r.stdout)![0];
    const res = await get(url);
    assert.equal(res.status, 302);
    assert.match(String(res.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
  });

  it('stops the dashboard and the engine it started', async () => {
    const r = await desktop(['stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /berth desktop stopped/);
    assert.match(r.stdout, /engine it started stopped/);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} gone`);
    const st = await desktop(['status']);
    assert.equal(st.code, 1);
    assert.match(st.stdout, /not running/);
  });

  it('rejects an unknown subcommand and a bad port', async () => {
    const r = await desktop(['restart']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown subcommand "restart"/);
    const p = await desktop(['--port', '70000']);
    assert.notEqual(p.code, 0);
    assert.match(p.stderr, /--port/);
  });
});

function readLog(name: string): string {
  try { return `\n--- ${name}\n` + readFileSync(path.join(stateDir, name), 'utf8'); } catch { return ''; }
}
