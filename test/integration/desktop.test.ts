// The dashboard end to end, in real headless Chromium (Debian's chromium driven by playwright-core) against a
// real daemon: the live list, actions, logs with search, the exec terminal, stats charts, pull progress,
// compose groups, files, volumes, networks, builds, events, the registry browser, the bad-input cases and the
// security checks. Screenshots of each main view go to test-artifacts/desktop/.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'http';
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import type { Page } from 'playwright-core';
import { REPO, TestDaemon, sleep, waitFor } from '../helpers/daemon';
import { TestDashboard } from '../helpers/desktop';
import { Browser, launchBrowser } from '../helpers/browser';
import { RegistryServer, tempDir } from './registry-fixture';
import { rmSync } from 'fs';

const SHOTS = path.join(REPO, 'test-artifacts', 'desktop');
const T = 20_000;

let d: TestDaemon;
let dash: TestDashboard;
let br: Browser;
let page: Page;
let registry: RegistryServer;
let registryRoot: string;
let secured: RegistryServer | undefined;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function inspect(name: string): Promise<{ status: number; body: any }> {
  return d.api('GET', `/containers/${name}/json`);
}

async function nav(view: string): Promise<void> {
  await page.click(`a[data-nav="${view}"]`);
  await page.waitForSelector(`[data-view="${view}"]`, { timeout: T }).catch(async (err) => {
    await shot(`nav-${view}-failed`);
    throw err;
  });
}

/** Fetches a link inside the page (with its session cookie), as a click on it would. */
function fetchText(href: string | null): Promise<string> {
  return page.evaluate(async (u) => (await fetch(u)).text(), href ?? '');
}

/** A raw request to the dashboard with chosen headers (what a forged page or a rebinding attack would send). */
function raw(method: string, p: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: dash.port, method, path: p, headers }, (res) => {
      let b = '';
      res.on('data', (c) => { b += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('berth desktop in Chromium', { timeout: 600_000 }, () => {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    d = new TestDaemon('desktop');
    await d.start();
    await d.loadBusybox();
    dash = new TestDashboard(d.host);
    await dash.start();
    br = await launchBrowser();
    page = await br.context.newPage();
    page.setDefaultTimeout(T);
    await page.goto(await dash.launchUrl());
    await page.waitForSelector('[data-view="containers"]');
  });

  after(async () => {
    await br?.close();
    await dash?.stop();
    await registry?.stop();
    await secured?.stop();
    if (registryRoot) rmSync(registryRoot, { recursive: true, force: true });
    await d?.stop();
  });

  it('shows a container started with the CLI without a reload', async () => {
    const r = await d.berth(['run', '-d', '--name', 'cli-web', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c',
      'i=0; while [ $i -lt 400 ]; do printf "row %d \\033[31mred\\033[0m needle-%d\\n" $i $i; i=$((i+1)); done; echo ERRLINE >&2; sleep 1d']);
    assert.equal(r.code, 0, r.stderr);
    const row = page.locator('tr[data-name="cli-web"]');
    await row.waitFor();
    await waitFor(async () => (await row.locator('[data-state]').getAttribute('data-state')) === 'running', T, 'running state');
    // ports are links to the published port
    const href = await row.locator('.ports a').first().getAttribute('href');
    assert.match(href ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
    // CPU and memory columns fill from the stats stream
    await waitFor(async () => /KiB|MiB/.test(await row.locator('[data-col="mem"]').innerText()), T, 'memory column');
    await shot('containers');
  });

  it('groups a compose project and acts on the group', async () => {
    // a real project, brought up by berth compose: the group comes from the labels compose gives its containers
    const dir = await tempDir('desktop-compose-');
    writeFileSync(path.join(dir, 'compose.yaml'), 'services:\n  api:\n    image: busybox\n    command: sleep 1d\n  db:\n    image: busybox\n    command: sleep 1d\n');
    try {
      const r = await d.berth(['compose', '-p', 'shop', '--project-directory', dir, '-f', path.join(dir, 'compose.yaml'), 'up', '-d'], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const group = page.locator('tr[data-group="shop"]');
    await group.waitFor();
    await waitFor(async () => (await group.innerText()).includes('2/2 running'), T, 'group of 2 running');
    await page.click('button[aria-label="stop group shop"]');
    await waitFor(async () => !(await inspect('shop-api-1')).body.State.Running && !(await inspect('shop-db-1')).body.State.Running, 60_000, 'group stopped');
    await waitFor(async () => (await group.innerText()).includes('0/2 running'), T, 'group shows 0/2');
    await page.click('button[aria-label="start group shop"]');
    await waitFor(async () => (await inspect('shop-api-1')).body.State.Running && (await inspect('shop-db-1')).body.State.Running, 60_000, 'group started');
  });

  it('stops, starts and removes from the page, and the engine follows', async () => {
    const r = await d.berth(['run', '-d', '--name', 'victim', 'busybox', 'sleep', '1d']);
    assert.equal(r.code, 0, r.stderr);
    const row = page.locator('tr[data-name="victim"]');
    await row.waitFor();
    await page.click('button[aria-label="stop victim"]');
    await waitFor(async () => (await inspect('victim')).body.State.Status === 'exited', 60_000, 'engine: exited');
    await waitFor(async () => (await row.locator('[data-state]').getAttribute('data-state')) === 'exited', T, 'page: exited');
    await page.click('button[aria-label="start victim"]');
    await waitFor(async () => (await inspect('victim')).body.State.Running, 60_000, 'engine: running');
    // remove asks once more, then removes
    await row.locator('button[title="Remove"]').click();
    await row.locator('button[title="Remove"]').click();
    await waitFor(async () => (await inspect('victim')).status === 404, 60_000, 'engine: removed');
    await page.locator('tr[data-name="victim"]').waitFor({ state: 'detached' });
  });

  it('shows the engine\'s refusal next to the container and changes nothing else', async () => {
    const row = page.locator('tr[data-name="cli-web"]');
    await row.locator('input[type=checkbox]').check();
    await page.click('[data-testid="bulk"] button:has-text("Unpause")');
    const err = page.locator('tr.rowerr').first();
    await err.waitFor();
    // the row may be in the page a moment before its text (CI once read it empty)
    await waitFor(async () => /not paused/i.test(await err.innerText()), T, 'the refusal shown');
    assert.equal((await inspect('cli-web')).body.State.Status, 'running');
    await row.locator('input[type=checkbox]').uncheck();
  });

  it('streams logs, renders ANSI colours as text, searches with highlights and next/previous', async () => {
    await page.click('tr[data-name="cli-web"] td.name a');
    await page.waitForSelector('[data-view="container"] .logline');
    await waitFor(async () => /40[01] lines/.test(await page.locator('[data-testid="line-count"]').innerText()), T, 'all log lines');
    // colour codes become styled spans, not raw escapes or markup
    const red = page.locator('.logline .a-f1').first();
    assert.equal(await red.innerText(), 'red');
    assert.equal(await page.locator('.logline.stderr').count() >= 1, true);
    await page.fill('input[aria-label="search logs"]', 'needle-12');
    await waitFor(async () => (await page.locator('[data-testid="match-count"]').innerText()).endsWith('/ 11'), T, '11 matches of needle-12');
    const marks = page.locator('.logline mark');
    await marks.first().waitFor();
    assert.equal((await marks.first().innerText()).toLowerCase(), 'needle-12');
    const before = await page.locator('[data-testid="match-count"]').innerText();
    await page.click('button[aria-label="next match"]');
    assert.notEqual(await page.locator('[data-testid="match-count"]').innerText(), before);
    await page.click('button[aria-label="previous match"]');
    assert.equal(await page.locator('[data-testid="match-count"]').innerText(), before);
    await page.click('text=Timestamps');
    await page.locator('.logline .ts').first().waitFor();
    await shot('logs');
    // download gives the log as a file
    const dl = await fetchText(await page.locator('a[download]').getAttribute('href'));
    assert.match(dl, /row 0 /);
    await page.fill('input[aria-label="search logs"]', '');
  });

  it('pauses following when scrolled up and offers the new lines', async () => {
    const r = await d.berth(['run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'seq 1 300; while true; do echo tick; sleep 0.2; done']);
    assert.equal(r.code, 0, r.stderr);
    await page.goto(`${dash.origin}/#/containers/ticker/logs`);
    await waitFor(async () => Number((await page.locator('[data-testid="line-count"]').innerText()).replace(/\D/g, '')) >= 300, T, '300 lines');
    const follow = page.locator('label:has-text("Follow") input');
    assert.equal(await follow.isChecked(), true);
    await page.locator('[data-testid="logview"]').evaluate((el) => { el.scrollTop = 0; });
    await waitFor(async () => !(await follow.isChecked()), T, 'follow paused by scrolling up');
    const top = await page.locator('[data-testid="logview"]').evaluate((el) => el.scrollTop);
    await page.locator('[data-testid="new-lines"]').waitFor();
    assert.equal(await page.locator('[data-testid="logview"]').evaluate((el) => el.scrollTop), top, 'the view stays where the user put it');
    await page.click('[data-testid="new-lines"]');
    await waitFor(async () => follow.isChecked(), T, 'following again');
    await waitFor(async () => page.locator('[data-testid="logview"]').evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 20), T, 'at the end');
    await d.berth(['rm', '-f', 'ticker']);
    await page.goto(`${dash.origin}/#/containers/cli-web/logs`);
    await page.waitForSelector('.logline');
  });

  it('runs echo in the exec terminal', async () => {
    await page.click('a[data-tab="terminal"]');
    await page.waitForSelector('[data-testid="terminal"] .xterm');
    await waitFor(async () => (await page.locator('[data-testid="term-status"]').innerText()) === 'connected', T, 'terminal connected');
    assert.equal(await page.locator('[data-testid="removed"]').count(), 0, 'a removed container seen before does not mark this one');
    await page.waitForTimeout(300);
    await page.locator('[data-testid="terminal"] .xterm').click();
    await page.keyboard.type('echo hello-from-$((6*7))\n');
    await waitFor(async () => (await page.locator('[data-testid="terminal"] .xterm-rows').innerText()).includes('hello-from-42'), T, 'echo output');
    // the exec's TTY has the terminal's size (sent on open and on resize), not a default 80x24
    await page.keyboard.type('echo size=$(stty size)\n');
    let size = '';
    await waitFor(async () => { size = /size=(\d+) (\d+)/.exec(await page.locator('[data-testid="terminal"] .xterm-rows').innerText())?.[0] ?? ''; return !!size; }, T, 'stty size');
    const [rows, cols] = size.slice(5).split(' ').map(Number);
    assert.ok(rows > 24 && cols > 80, `terminal size ${rows}x${cols}`);
    await page.setViewportSize({ width: 1100, height: 700 });
    await page.keyboard.type('echo resized=$(stty size)\n');
    let resized = '';
    await waitFor(async () => { resized = /resized=(\d+) (\d+)/.exec(await page.locator('[data-testid="terminal"] .xterm-rows').innerText())?.[0] ?? ''; return !!resized; }, T, 'stty size after resize');
    const [rows2, cols2] = resized.slice(8).split(' ').map(Number);
    assert.ok(rows2 < rows && cols2 < cols, `resized from ${rows}x${cols} to ${rows2}x${cols2}`);
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.waitForTimeout(300);
    await shot('terminal');
  });

  it('draws stats charts over time', async () => {
    await page.click('a[data-tab="stats"]');
    const cpu = page.locator('[data-chart="cpu"] canvas');
    await waitFor(async () => Number(await cpu.getAttribute('data-samples')) >= 3, 30_000, '3 stats samples');
    await page.waitForTimeout(1200);
    // the canvas has drawn pixels in the series colour
    const drawn = await page.evaluate(`(() => {
      const c = document.querySelector('[data-chart="mem"] canvas');
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i] === 124 && px[i + 1] === 58 && px[i + 2] === 237) n++;
      return n;
    })()`) as number;
    assert.ok(drawn > 10, `memory line drawn (${drawn} pixels)`);
    await shot('stats');
  });

  it('shows inspect, processes and files; uploads and downloads a file', async () => {
    await page.click('a[data-tab="inspect"]');
    assert.match(await page.locator('pre.json').innerText(), /"Id": "[0-9a-f]{64}"/);
    await page.click('a[data-tab="top"]');
    await waitFor(async () => (await page.locator('[data-testid="top"]').innerText()).includes('sleep'), T, 'top shows sleep');
    await page.click('a[data-tab="files"]');
    await page.locator('tr[data-file="etc"]').waitFor();
    await page.click('tr[data-file="tmp"] a');
    await page.locator('[data-testid="upload"]').setInputFiles({ name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('uploaded by chromium\n') });
    await page.locator('tr[data-file="note.txt"]').waitFor();
    const r = await d.berth(['exec', 'cli-web', 'cat', '/tmp/note.txt']);
    assert.equal(r.stdout, 'uploaded by chromium\n');
    const got = await fetchText(await page.locator('tr[data-file="note.txt"] a.btn').getAttribute('href'));
    assert.equal(got, 'uploaded by chromium\n');
    await shot('files');
  });

  it('ends the terminal when its container exits', async () => {
    await d.berth(['run', '-d', '--name', 'short', 'busybox', 'sleep', '1d']);
    await page.goto(`${dash.origin}/#/containers/short/terminal`);
    await waitFor(async () => (await page.locator('[data-testid="term-status"]').innerText()) === 'connected', T, 'terminal connected');
    await d.berth(['kill', 'short']);
    await waitFor(async () => ['exited', 'disconnected'].includes(await page.locator('[data-testid="term-status"]').innerText()), T, 'terminal ended');
  });

  it('says so when the open container is removed', async () => {
    await d.berth(['rm', '-f', 'short']);
    await page.locator('[data-testid="removed"]').waitFor();
  });

  it('pulls with per-layer progress, and reports a bad image name', async () => {
    registryRoot = await tempDir('berth-desktop-reg-');
    registry = await new RegistryServer(registryRoot).start();
    const ref = `${registry.hostPort}/lib/box:1`;
    // an image whose top layer this engine does not have once it is removed: a pull must download it
    const mk = await d.berth(['run', '--name', 'mk', 'busybox', 'sh', '-c', 'head -c 400000 /dev/urandom > /blob']);
    assert.equal(mk.code, 0, mk.stderr);
    assert.equal((await d.berth(['commit', 'mk', ref])).code, 0);
    assert.equal((await d.berth(['rm', 'mk'])).code, 0);
    const pushed = await d.berth(['push', ref]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal((await d.berth(['rmi', ref])).code, 0);
    await nav('images');
    await page.fill('input[aria-label="image to pull"]', ref);
    await page.click('button:has-text("Pull")');
    const prog = page.locator('[data-testid="progress"]').first();
    await prog.locator('[data-layer]').first().waitFor().catch(async (err) => { await shot('pull-failed'); throw err; });
    await waitFor(async () => /Downloaded newer image|Image is up to date/.test(await prog.innerText()), 60_000, 'pull done');
    await page.locator(`tr[data-image="${ref}"]`).waitFor();
    await shot('images');
    await page.fill('input[aria-label="image to pull"]', 'Bad Name!!');
    await page.click('button:has-text("Pull")');
    await waitFor(async () => /invalid reference format/i.test(await prog.innerText()), T, 'bad name error');
  });

  it('tags, shows the history of and removes an image', async () => {
    const row = page.locator('tr[data-image="busybox:latest"]');
    await row.locator('button:has-text("Tag")').click();
    await page.fill('#tag-target', 'desk/tagged:7');
    await page.click('.modal button:has-text("Tag")');
    await page.locator('tr[data-image="busybox:latest"]:has-text("desk/tagged:7")').waitFor();
    assert.equal((await d.api('GET', '/images/desk/tagged:7/json')).status, 200);
    await row.locator('button:has-text("History")').click();
    await page.locator('[data-testid="history"] tbody tr').first().waitFor();
    await page.click('.modal button:has-text("Close")');
    // in use by containers: the engine refuses a plain remove, and the page says why
    assert.match(await row.locator('[data-testid="in-use"]').innerText(), /in use/);
    const pulled = page.locator('tr[data-image$="/lib/box:1"]');
    await pulled.locator('button:has-text("Remove")').click();
    await pulled.locator('button:has-text("Remove?")').click();
    await pulled.waitFor({ state: 'detached' });
  });

  it('browses the registry: repositories, tags, manifest sizes', async () => {
    await nav('registry');
    await page.fill('input[aria-label="registry address"]', registry.hostPort);
    await page.click('[data-view="registry"] button:has-text("Open")');
    await page.click('[data-testid="repos"] a:has-text("lib/box")');
    await page.click('[data-testid="tags"] a:has-text("1")');
    const m = page.locator('[data-testid="manifest"]');
    await m.waitFor();
    assert.match(await m.innerText(), /sha256:[0-9a-f]{64}/);
    assert.match(await page.locator('[data-testid="total-size"]').innerText(), /\d+(\.\d)? (kB|MB)/);
    await shot('registry');
    // push a local image there from the page
    await page.selectOption('select[aria-label="local image"]', 'desk/tagged:7');
    await page.fill('input[aria-label="repository"]', 'team/pushed');
    await page.click('[data-testid="push-form"] button:has-text("Push")');
    await waitFor(async () => /digest: sha256:/.test(await page.locator('[data-testid="push-form"] [data-testid="progress"]').innerText()), 60_000, 'push done');
    await page.locator('[data-testid="repos"] a:has-text("team/pushed")').waitFor();
  });

  it('logs in to a registry that asks for it', async () => {
    const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
    const htpasswd = path.join(registryRoot, 'htpasswd');
    writeFileSync(htpasswd, `alice:${bcrypt.hashSync('s3cret', 5)}\n`);
    secured = await new RegistryServer(path.join(registryRoot, 'secured'), ['--htpasswd', htpasswd]).start();
    await page.fill('input[aria-label="registry address"]', secured.hostPort);
    await page.click('[data-view="registry"] button:has-text("Open")');
    const err = page.locator('[data-testid="repos"] .errbox');
    await err.waitFor();
    assert.match(await err.innerText(), /login|401|auth/i);
    await page.fill('input[aria-label="username"]', 'alice');
    await page.fill('input[aria-label="password"]', 'wrong');
    await page.click('button:has-text("Log in")');
    await page.locator('[data-view="registry"] > .errbox').waitFor();
    await page.fill('input[aria-label="password"]', 's3cret');
    await page.click('button:has-text("Log in")');
    await page.locator('[data-view="registry"] > .errbox').waitFor({ state: 'detached' });
    await page.locator('[data-testid="repos"] .empty').waitFor();
  });

  it('runs a container from the form and refuses a port already taken', async () => {
    await nav('containers');
    await page.click('button:has-text("Run container")');
    await page.fill('#rf-image', 'busybox');
    await page.fill('#rf-name', 'formrun');
    await page.fill('#rf-cmd', 'sleep 1d');
    await page.fill('#rf-ports', '127.0.0.1:18999:80');
    await page.fill('#rf-env', 'HELLO=world');
    await page.click('[data-testid="run-form"] button[type=submit]');
    await page.waitForSelector('[data-view="container"]');
    const info = (await inspect('formrun')).body;
    assert.equal(info.State.Running, true);
    assert.ok(info.Config.Env.includes('HELLO=world'));
    await nav('containers');
    await page.click('button:has-text("Run container")');
    await page.fill('#rf-image', 'busybox');
    await page.fill('#rf-name', 'formrun2');
    await page.fill('#rf-cmd', 'sleep 1d');
    await page.fill('#rf-ports', '127.0.0.1:18999:80');
    await page.click('[data-testid="run-form"] button[type=submit]');
    const err = page.locator('[data-testid="run-form"] .errbox');
    await err.waitFor();
    assert.match(await err.innerText(), /port is already allocated|address already in use|already/i);
    assert.equal((await inspect('formrun2')).status, 404, 'the half-made container is removed');
    await page.click('[data-testid="run-form"] button:has-text("Cancel")');
  });

  it('manages volumes and browses their files', async () => {
    await d.berth(['volume', 'create', 'vdata']);
    await d.berth(['run', '--rm', '-v', 'vdata:/data', 'busybox', 'sh', '-c', 'echo inside-volume > /data/hello.txt']);
    await nav('volumes');
    await page.locator('tr[data-volume="vdata"]').waitFor();
    await shot('volumes');
    await page.click('tr[data-volume="vdata"] a:has-text("Browse")');
    await page.locator('tr[data-file="hello.txt"]').waitFor();
    const text = await fetchText(await page.locator('tr[data-file="hello.txt"] a.btn').getAttribute('href'));
    assert.equal(text, 'inside-volume\n');
    // the helper container used for browsing is gone again
    await waitFor(async () => {
      const list = (await d.api('GET', '/containers/json?all=1')).body as Array<{ Labels: Record<string, string> }>;
      return list.filter((c) => c.Labels?.['com.berth.desktop.helper']).length === 0;
    }, T, 'helper container removed');
    await nav('volumes');
    await page.fill('input[aria-label="volume name"]', 'vnew');
    await page.click('button:has-text("Create volume")');
    await page.locator('tr[data-volume="vnew"]').waitFor();
    await page.locator('tr[data-volume="vnew"] button:has-text("Remove")').click();
    await page.locator('tr[data-volume="vnew"] button:has-text("Remove?")').click();
    await page.locator('tr[data-volume="vnew"]').waitFor({ state: 'detached' });
  });

  it('creates and removes networks and lists connected containers', async () => {
    await nav('networks');
    await page.fill('input[aria-label="network name"]', 'dnet');
    await page.click('button:has-text("Create network")');
    await page.locator('tr[data-network="dnet"]').waitFor();
    await d.berth(['network', 'connect', 'dnet', 'cli-web']);
    await page.reload();
    await page.locator('tr[data-network="dnet"]').waitFor();
    assert.match(await page.locator('tr[data-network="dnet"]').innerText(), /cli-web/);
    await shot('networks');
    await d.berth(['network', 'disconnect', 'dnet', 'cli-web']);
    await page.reload();
    await page.locator('tr[data-network="dnet"] button:has-text("Remove")').click();
    await page.locator('tr[data-network="dnet"] button:has-text("Remove?")').click();
    await page.locator('tr[data-network="dnet"]').waitFor({ state: 'detached' });
    assert.equal((await d.api('GET', '/networks/dnet')).status, 404);
  });

  it('builds from a Dockerfile with its log', async () => {
    await nav('builds');
    await page.fill('#b-tag', 'desk/built:1');
    await page.click('[data-testid="build-form"] button:has-text("Build")');
    await waitFor(async () => /Successfully (built|tagged)/.test(await page.locator('[data-testid="build-log"]').innerText()), 120_000, 'build done');
    assert.equal((await d.api('GET', '/images/desk/built:1/json')).status, 200);
    await shot('builds');
  });

  it('shows live events and system information with disk usage', async () => {
    await nav('events');
    await d.berth(['run', '--rm', '--name', 'evt', 'busybox', 'true']);
    await waitFor(async () => /destroy/.test(await page.locator('[data-testid="events-table"]').innerText()), T, 'destroy event');
    await shot('events');
    await nav('system');
    await waitFor(async () => /berth/i.test(await page.locator('[data-testid="info"]').innerText()), T, 'engine info');
    await page.locator('[data-testid="df"] tr[data-kind="Images"]').waitFor();
    await shot('system');
    await page.locator('tr[data-kind="Build cache"] button:has-text("Prune")').click();
    await page.locator('tr[data-kind="Build cache"] button:has-text("Prune?")').click();
    await page.locator('.okbox:has-text("Build cache: reclaimed")').waitFor();
  });

  it('shows a banner while the engine is down and recovers when it returns', async () => {
    await nav('containers');
    await d.stopDaemon();
    await page.locator('[data-testid="engine-down"]').waitFor();
    await shot('engine-down');
    await d.start();
    await page.locator('[data-testid="engine-down"]').waitFor({ state: 'detached', timeout: 30_000 });
    await page.locator('tr[data-name="cli-web"]').waitFor();
    // the list is live again: a new container appears
    await d.berth(['run', '-d', '--name', 'after-restart', 'busybox', 'sleep', '1d']);
    await page.locator('tr[data-name="after-restart"]').waitFor();
  });

  it('refuses a forged Host, a foreign Origin and a wrong token', async () => {
    const cookies = await br.context.cookies(dash.origin);
    const session = cookies.find((c) => c.name === 'berth_desktop');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict', 'HttpOnly SameSite=Strict session cookie');
    const cookie = `berth_desktop=${session!.value}`;
    const ok = await raw('GET', '/api/engine/containers/json', { Host: `127.0.0.1:${dash.port}`, Cookie: cookie });
    assert.equal(ok.status, 200);
    const rebind = await raw('GET', '/api/engine/containers/json', { Host: `evil.example:${dash.port}`, Cookie: cookie });
    assert.equal(rebind.status, 403);
    assert.match(rebind.body, /Host/);
    const forged = await raw('POST', '/api/engine/containers/cli-web/stop', { Host: `127.0.0.1:${dash.port}`, Cookie: cookie, Origin: 'http://evil.example' });
    assert.equal(forged.status, 403);
    const noOrigin = await raw('POST', '/api/engine/containers/cli-web/stop', { Host: `127.0.0.1:${dash.port}`, Cookie: cookie });
    assert.equal(noOrigin.status, 403);
    assert.equal((await inspect('cli-web')).body.State.Running, true, 'nothing was stopped');
    const noCookie = await raw('GET', '/api/engine/containers/json', { Host: `127.0.0.1:${dash.port}` });
    assert.equal(noCookie.status, 403);
    const badToken = await raw('GET', '/?token=not-a-token', { Host: `127.0.0.1:${dash.port}` });
    assert.equal(badToken.status, 403);
    // a launch token works once
    const url = new URL(await dash.launchUrl());
    const first = await raw('GET', url.pathname + url.search, { Host: url.host });
    assert.equal(first.status, 302);
    const again = await raw('GET', url.pathname + url.search, { Host: url.host });
    assert.equal(again.status, 403);
    // websocket upgrades check Origin too
    const ws = await raw('GET', '/api/terminal?id=cli-web', {
      Host: `127.0.0.1:${dash.port}`, Cookie: cookie, Origin: 'http://evil.example', Connection: 'Upgrade', Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    }).catch((err: Error) => ({ status: 0, body: err.message }));
    assert.equal(ws.status, 403);
  });

  it('costs nothing on the server once the page is closed', async () => {
    assert.ok((await dash.status()).pages >= 1);
    await page.close();
    await waitFor(async () => (await dash.status()).pages === 0, T, 'no pages');
    page = await br.context.newPage();
    await sleep(10);
  });
});
