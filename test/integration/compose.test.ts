// `berth compose` with real containers on a throw-away daemon: a web + db + worker stack (service_healthy and
// service_completed_successfully), DNS by service name and alias, named volumes across down / down -v, scale,
// recreate on change only, profiles, run --rm, exec, logs -f, --wait, --abort-on-container-exit --exit-code-from,
// orphans, build, the bad-input cases, and a daemon SIGKILL in the middle of `up` followed by a converging `up`.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as os from 'os';
import { TestDaemon, RunResult, waitFor, BERTH, sleep } from '../helpers/daemon';

const d = new TestDaemon('compose');
const work = mkdtempSync(path.join(os.tmpdir(), 'compose-it-'));
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); rmSync(work, { recursive: true, force: true }); });

// each project its own subnet in this suite's range (10.61.x), so nothing collides with other daemons
let subnetNo = (process.pid % 50) * 4;
const subnet = () => `10.61.${(subnetNo++ % 250) + 1}.0/24`;
const netBlock = () => `networks:\n  default:\n    ipam:\n      config:\n        - subnet: ${subnet()}\n`;

function projectDir(name: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), c);
  }
  return dir;
}

const compose = (dir: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) =>
  d.berth(['compose', '--project-directory', dir, '-f', path.join(dir, 'compose.yaml'), ...args], { timeoutMs: 120_000, ...opts });
const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };
const psNames = async (dir: string, all = false) => ok(await compose(dir, ['ps', ...(all ? ['-a'] : []), '--format', '{{.Name}} {{.State}}']), 'ps').trim().split('\n').filter(Boolean).sort();
const inspect = async (name: string) => (await d.api('GET', `/containers/${name}/json`)).body;
const labelled = async (project: string) => (await d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }))}`)).body as Array<{ Id: string; Names: string[]; State: string; Labels: Record<string, string> }>;

test('web + db + worker: healthy and completed dependencies, DNS by service name and alias, labels as Compose sets them', async () => {
  const dir = projectDir('stack', {
    'compose.yaml': `services:
  db:
    image: busybox
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 300"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 20
    networks:
      default:
        aliases: [database]
  migrate:
    image: busybox
    command: ["sh", "-c", "sleep 0.5; echo migrated"]
    depends_on:
      db: {condition: service_healthy}
  web:
    image: busybox
    command: ["sleep", "300"]
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
  worker:
    image: busybox
    command: ["sleep", "300"]
    depends_on: [db]
${netBlock()}`,
  });
  const r = await compose(dir, ['--progress', 'plain', 'up', '-d']);
  ok(r, 'up');
  assert.match(r.stderr, / Network stack_default Created/);
  assert.match(r.stderr, / Container stack-db-1 Healthy/);
  assert.match(r.stderr, / Container stack-migrate-1 Exited/);
  assert.ok(r.stderr.indexOf('Container stack-db-1 Healthy') < r.stderr.indexOf('Container stack-web-1 Started'), r.stderr);
  assert.deepEqual(await psNames(dir), ['stack-db-1 running', 'stack-web-1 running', 'stack-worker-1 running']);
  assert.deepEqual(await psNames(dir, true), ['stack-db-1 running', 'stack-migrate-1 exited', 'stack-web-1 running', 'stack-worker-1 running']);
  // DNS: service name, alias, container name
  for (const name of ['db', 'database', 'stack-db-1']) {
    const out = ok(await compose(dir, ['exec', '-T', 'web', 'nslookup', name]), `nslookup ${name}`);
    assert.match(out, /Address: 10\.61\./, out);
  }
  const web = await inspect('stack-web-1');
  const labels = web.Config.Labels;
  assert.equal(labels['com.docker.compose.project'], 'stack');
  assert.equal(labels['com.docker.compose.service'], 'web');
  assert.equal(labels['com.docker.compose.container-number'], '1');
  assert.equal(labels['com.docker.compose.oneoff'], 'False');
  assert.equal(labels['com.docker.compose.project.working_dir'], dir);
  assert.equal(labels['com.docker.compose.project.config_files'], path.join(dir, 'compose.yaml'));
  assert.match(labels['com.docker.compose.depends_on'], /db:service_healthy:false/);
  assert.ok(labels['com.docker.compose.version']);
  const hash = ok(await compose(dir, ['config', '--hash', 'web']), 'hash').trim();
  assert.equal(hash, `web ${labels['com.docker.compose.config-hash']}`);
  const nets = (await d.api('GET', '/networks/stack_default')).body;
  assert.equal(nets.Labels['com.docker.compose.network'], 'default');
  assert.equal(nets.Labels['com.docker.compose.project'], 'stack');
  // ls lists the project
  assert.match(ok(await d.berth(['compose', 'ls']), 'ls'), /^stack\s+exited\(1\), running\(3\)\s+\S*compose\.yaml$/m);
  ok(await compose(dir, ['down']), 'down');
  assert.equal((await labelled('stack')).length, 0);
  assert.equal((await d.api('GET', '/networks/stack_default')).status, 404);
});

test('named volumes survive down and go with down -v; anonymous volumes are kept across a recreate unless -V', async () => {
  const dir = projectDir('vols', {
    'compose.yaml': `services:\n  app:\n    image: busybox\n    command: ["sleep", "300"]\n    environment: {V: "1"}\n    volumes: [data:/data, /anon]\nvolumes:\n  data: {}\n${netBlock()}`,
  });
  ok(await compose(dir, ['up', '-d']), 'up');
  ok(await compose(dir, ['exec', '-T', 'app', 'sh', '-c', 'echo kept > /data/f; echo anon > /anon/f']), 'write');
  const v = (await d.api('GET', '/volumes/vols_data')).body;
  assert.equal(v.Labels['com.docker.compose.volume'], 'data');
  // a change recreates the container; the anonymous volume comes along
  writeFileSync(path.join(dir, 'compose.yaml'), `services:\n  app:\n    image: busybox\n    command: ["sleep", "300"]\n    environment: {V: "2"}\n    volumes: [data:/data, /anon]\nvolumes:\n  data: {}\n${netBlock()}`);
  const r = await compose(dir, ['--progress', 'plain', 'up', '-d']);
  ok(r, 'up again');
  assert.match(r.stderr, /Container vols-app-1 Recreated/);
  assert.equal(ok(await compose(dir, ['exec', '-T', 'app', 'cat', '/anon/f']), 'anon kept').trim(), 'anon');
  ok(await compose(dir, ['up', '-d', '--force-recreate', '-V']), 'up -V');
  assert.notEqual((await compose(dir, ['exec', '-T', 'app', 'cat', '/anon/f'])).code, 0, 'a new anonymous volume with -V');
  ok(await compose(dir, ['down']), 'down');
  assert.equal((await d.api('GET', '/volumes/vols_data')).status, 200, 'named volume survives down');
  ok(await compose(dir, ['up', '-d']), 'up after down');
  assert.equal(ok(await compose(dir, ['exec', '-T', 'app', 'cat', '/data/f']), 'read').trim(), 'kept');
  const r2 = await compose(dir, ['--progress', 'plain', 'down', '-v']);
  ok(r2, 'down -v');
  assert.match(r2.stderr, /Volume vols_data Removed/);
  assert.equal((await d.api('GET', '/volumes/vols_data')).status, 404);
});

test('recreate on change only; scale up and down; orphans', async () => {
  const file = (env: string, extra = '') => `services:\n  s:\n    image: busybox\n    command: ["sleep", "300"]\n    environment: {E: "${env}"}\n  t:\n    image: busybox\n    command: ["sleep", "300"]\n${extra}${netBlock()}`;
  const dir = projectDir('conv', { 'compose.yaml': file('a') });
  ok(await compose(dir, ['up', '-d']), 'up');
  const id1 = (await inspect('conv-s-1')).Id;
  const t1 = (await inspect('conv-t-1')).Id;
  const r = await compose(dir, ['--progress', 'plain', 'up', '-d']);
  ok(r, 'second up');
  assert.doesNotMatch(r.stderr, /Recreate|Creating|Starting/);
  assert.equal((await inspect('conv-s-1')).Id, id1, 'unchanged service left alone');
  writeFileSync(path.join(dir, 'compose.yaml'), file('b'));
  ok(await compose(dir, ['up', '-d']), 'changed');
  assert.notEqual((await inspect('conv-s-1')).Id, id1, 'changed service recreated');
  assert.equal((await inspect('conv-t-1')).Id, t1, 'the other service left alone');
  ok(await compose(dir, ['up', '-d', '--scale', 's=3']), 'scale up');
  assert.deepEqual(await psNames(dir), ['conv-s-1 running', 'conv-s-2 running', 'conv-s-3 running', 'conv-t-1 running']);
  ok(await compose(dir, ['scale', 's=1']), 'scale down');
  assert.deepEqual(await psNames(dir), ['conv-s-1 running', 'conv-t-1 running']);
  // t removed from the file: an orphan, warned about, then removed with --remove-orphans
  writeFileSync(path.join(dir, 'compose.yaml'), `services:\n  s:\n    image: busybox\n    command: ["sleep", "300"]\n    environment: {E: "b"}\n${netBlock()}`);
  const w = await compose(dir, ['up', '-d']);
  ok(w, 'up with orphan');
  assert.match(w.stderr, /Found orphan containers \(\[conv-t-1\]\) for this project/);
  ok(await compose(dir, ['up', '-d', '--remove-orphans']), 'remove orphans');
  assert.deepEqual(await psNames(dir, true), ['conv-s-1 running']);
  ok(await compose(dir, ['down']), 'down');
});

test('profiles, run --rm, exec, logs -f, --wait', async () => {
  const dir = projectDir('misc', {
    'compose.yaml': `services:
  app:
    image: busybox
    command: ["sh", "-c", "echo started; while true; do sleep 0.2; if [ -f /tmp/say ]; then cat /tmp/say; rm /tmp/say; fi; done"]
    healthcheck: {test: ["CMD", "true"], interval: 300ms}
  debug:
    image: busybox
    command: ["sleep", "300"]
    profiles: [dev]
${netBlock()}`,
  });
  ok(await compose(dir, ['up', '-d', '--wait']), 'up --wait');
  assert.equal((await inspect('misc-app-1')).State.Health.Status, 'healthy', '--wait returned once healthy');
  assert.equal((await d.api('GET', '/containers/misc-debug-1/json')).status, 404, 'profile service off');
  ok(await compose(dir, ['--profile', 'dev', 'up', '-d']), 'up with profile');
  assert.deepEqual(await psNames(dir), ['misc-app-1 running', 'misc-debug-1 running']);
  // run --rm: a one-off container, removed after; its exit code is the command's
  const run = await compose(dir, ['run', '--rm', '-T', 'app', 'sh', '-c', 'echo one-off; exit 3']);
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stdout, /one-off/);
  assert.equal((await labelled('misc')).filter((c) => c.Labels['com.docker.compose.oneoff'] === 'True').length, 0, 'run --rm removed it');
  // exec: exit code, env, user, workdir
  const ex = await compose(dir, ['exec', '-T', '-e', 'X=42', '-w', '/tmp', 'app', 'sh', '-c', 'echo $X $(pwd); exit 5']);
  assert.equal(ex.code, 5);
  assert.equal(ex.stdout.trim(), '42 /tmp');
  // logs -f follows new output, with the service prefix
  const child = spawn(BERTH, ['compose', '--project-directory', dir, '-f', path.join(dir, 'compose.yaml'), 'logs', '-f', 'app'], { env: { ...process.env, BERTH_HOST: d.host } });
  let out = '';
  child.stdout.on('data', (b) => { out += b; });
  try {
    await waitFor(async () => out.includes('started'), 15_000, 'first log line');
    ok(await compose(dir, ['exec', '-T', 'app', 'sh', '-c', 'echo fresh-line > /tmp/say']), 'say');
    await waitFor(async () => out.includes('fresh-line'), 15_000, 'followed line');
    assert.match(out, /^app-1\s+\| started$/m);
  } finally {
    child.kill();
  }
  ok(await compose(dir, ['--profile', 'dev', 'down']), 'down');
  assert.equal((await labelled('misc')).length, 0);
});

test('--abort-on-container-exit with --exit-code-from; attached output with prefixes', async () => {
  const dir = projectDir('abort', {
    'compose.yaml': `services:\n  long:\n    image: busybox\n    command: ["sleep", "300"]\n  short:\n    image: busybox\n    command: ["sh", "-c", "echo bye; sleep 0.3; exit 7"]\n${netBlock()}`,
  });
  const r = await compose(dir, ['up', '--abort-on-container-exit', '--exit-code-from', 'short', '-t', '1']);
  assert.equal(r.code, 7, r.stderr + r.stdout);
  assert.match(r.stdout, /^short-1\s+\| bye$/m);
  assert.match(r.stdout, /Aborting on container exit/);
  assert.match(r.stdout, /short-1 exited with code 7/);
  assert.equal((await inspect('abort-long-1')).State.Running, false, 'the others were stopped');
  ok(await compose(dir, ['down', '-t', '1']), 'down');
});

test('build through the engine: context, dockerfile, args, target; the image is project-service', async () => {
  const dir = projectDir('bld', {
    'app/Dockerfile.custom': 'FROM busybox AS base\nARG GREETING=none\nRUN echo "$GREETING" > /greeting\nFROM base AS final\nCMD ["cat", "/greeting"]\n',
    'compose.yaml': `services:\n  app:\n    build:\n      context: ./app\n      dockerfile: Dockerfile.custom\n      target: final\n      args: {GREETING: hello-build}\n      labels: {built.by: compose}\n${netBlock()}`,
  });
  ok(await compose(dir, ['build']), 'build');
  const img = (await d.api('GET', '/images/bld-app/json')).body;
  assert.equal(img.Config.Labels['built.by'], 'compose');
  const r = await compose(dir, ['run', '--rm', '-T', 'app']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'hello-build');
  ok(await compose(dir, ['down', '--rmi', 'local']), 'down --rmi local');
  assert.equal((await d.api('GET', '/images/bld-app/json')).status, 404);
});

test('bad input: port taken, external network missing, failing build, unpullable image; a failed up converges and down cleans', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const dir = projectDir('bad', {
      'compose.yaml': `services:\n  ok:\n    image: busybox\n    command: ["sleep", "300"]\n  clash:\n    image: busybox\n    command: ["sleep", "300"]\n    ports: ["${port}:80"]\n${netBlock()}`,
    });
    const r = await compose(dir, ['up', '-d']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /port is already allocated|address already in use/);
    // what it started stays up and labelled; nothing is left without labels
    const list = await labelled('bad');
    assert.ok(list.some((c) => c.Names[0] === '/bad-ok-1'));
    const all = (await d.api('GET', '/containers/json?all=1')).body as Array<{ Names: string[]; Labels: Record<string, string> }>;
    assert.ok(all.filter((c) => c.Names[0].startsWith('/bad-')).every((c) => c.Labels['com.docker.compose.project'] === 'bad'), 'every container carries its labels');
    blocker.close();
    ok(await compose(dir, ['up', '-d']), 'second up converges once the port is free');
    assert.deepEqual(await psNames(dir), ['bad-clash-1 running', 'bad-ok-1 running']);
    ok(await compose(dir, ['down']), 'down');
    assert.equal((await labelled('bad')).length, 0);
  } finally {
    blocker.close();
  }
  const ext = projectDir('ext', { 'compose.yaml': 'services:\n  a: {image: busybox, command: ["true"]}\nnetworks:\n  default:\n    name: no-such-net\n    external: true\n' });
  const e = await compose(ext, ['up', '-d']);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /network no-such-net declared as external, but could not be found/);
  const extv = projectDir('extv', { 'compose.yaml': `services:\n  a: {image: busybox, command: ["true"], volumes: ["v:/v"]}\nvolumes:\n  v: {external: true, name: no-such-vol}\n${netBlock()}` });
  assert.match((await compose(extv, ['up', '-d'])).stderr, /external volume "no-such-vol" not found/);
  const fail = projectDir('bfail', { 'Dockerfile': 'FROM busybox\nRUN exit 3\n', 'compose.yaml': `services:\n  a: {build: .}\n${netBlock()}` });
  const b = await compose(fail, ['up', '-d']);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /failed to solve: .*returned a non-zero code: 3/);
  const pull = projectDir('pullfail', { 'compose.yaml': `services:\n  a: {image: "127.0.0.1:1/nothing/here:v1"}\n${netBlock()}` });
  const pr = await compose(pull, ['up', '-d']);
  assert.notEqual(pr.code, 0);
  assert.match(pr.stderr, /Error response from daemon: /);
  const unknown = await compose(fail, ['up', '-d', 'nosuch']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no such service: nosuch/);
});

test('a daemon SIGKILL in the middle of up, then a converging up: every service once, nothing unlabelled', async () => {
  const services = Array.from({ length: 8 }, (_, i) => `  s${i}:\n    image: busybox\n    command: ["sleep", "300"]\n`).join('');
  const dir = projectDir('crash', { 'compose.yaml': `services:\n${services}${netBlock()}` });
  const child = spawn(BERTH, ['compose', '--project-directory', dir, '-f', path.join(dir, 'compose.yaml'), 'up', '-d'], { env: { ...process.env, BERTH_HOST: d.host }, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  // kill the daemon as soon as the first containers exist
  await waitFor(async () => (await labelled('crash').catch(() => [])).length >= 1, 30_000, 'first container');
  await d.kill();
  await exited;
  await d.start();
  const r = await compose(dir, ['up', '-d']);
  ok(r, 'converging up');
  const list = await labelled('crash');
  assert.equal(list.length, 8, list.map((c) => c.Names[0]).join(' '));
  assert.deepEqual(list.map((c) => c.Names[0]).sort(), Array.from({ length: 8 }, (_, i) => `/crash-s${i}-1`).sort());
  assert.ok(list.every((c) => c.State === 'running'));
  const all = (await d.api('GET', '/containers/json?all=1')).body as Array<{ Labels: Record<string, string>; Names: string[] }>;
  const ours = all.filter((c) => c.Names[0].startsWith('/crash-') || c.Names[0].includes('_crash-'));
  assert.equal(ours.length, 8, all.map((c) => c.Names[0]).join(' '));
  assert.ok(ours.every((c) => c.Labels['com.docker.compose.project'] === 'crash'), all.map((c) => c.Names[0]).join(' '));
  ok(await compose(dir, ['down', '-t', '0']), 'down');
  assert.equal((await labelled('crash')).length, 0);
  await sleep(10);
});

test('services created and started in parallel: distinct ephemeral host ports, and one fixed port goes to exactly one', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '0.0.0.0', r));
  const fixed = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const many = Array.from({ length: 10 }, (_, i) => `  e${i}:\n    image: busybox\n    command: ["sleep", "300"]\n    ports: ["80"]\n`).join('');
  const dir = projectDir('ports', { 'compose.yaml': `services:\n${many}${netBlock()}` });
  ok(await compose(dir, ['up', '-d']), 'up');
  const ports = ok(await compose(dir, ['ps', '--format', '{{.Ports}}']), 'ps').trim().split('\n').map((l) => /:(\d+)->80\/tcp/.exec(l)?.[1]);
  assert.equal(ports.length, 10);
  assert.ok(ports.every(Boolean), ports.join(' '));
  assert.equal(new Set(ports).size, 10, `distinct host ports: ${ports.join(' ')}`);
  ok(await compose(dir, ['down', '-t', '0']), 'down');
  // two services racing for the same host port: the allocation is atomic, one gets it
  const race = projectDir('race', { 'compose.yaml': `services:\n  a:\n    image: busybox\n    command: ["sleep", "300"]\n    ports: ["${fixed}:80"]\n  b:\n    image: busybox\n    command: ["sleep", "300"]\n    ports: ["${fixed}:80"]\n${netBlock()}` });
  const r = await compose(race, ['up', '-d']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /port is already allocated/);
  const running = ok(await compose(race, ['ps', '--format', '{{.Name}}']), 'ps').trim().split('\n').filter(Boolean);
  assert.equal(running.length, 1, running.join(' '));
  ok(await compose(race, ['down', '-t', '0']), 'down');
});

test('depends_on restart: true: restart and a recreate of the dependency restart its dependent, after it is healthy again; others left alone', async () => {
  const file = (v: string) => `services:
  db:
    image: busybox
    command: ["sh", "-c", "rm -f /tmp/ready; sleep 1; touch /tmp/ready; exec sleep 300"]
    environment: {V: "${v}"}
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 300ms
      retries: 20
  api:
    image: busybox
    command: ["sleep", "300"]
    depends_on:
      db: {condition: service_healthy, restart: true}
  worker:
    image: busybox
    command: ["sleep", "300"]
    depends_on: [db]
${netBlock()}`;
  const dir = projectDir('rdeps', { 'compose.yaml': file('1') });
  ok(await compose(dir, ['up', '-d']), 'up');
  const state = async (name: string) => { const i = await inspect(name); return { id: i.Id as string, started: i.State.StartedAt as string, running: i.State.Running as boolean }; };
  assert.match((await inspect('rdeps-api-1')).Config.Labels['com.docker.compose.depends_on'], /^db:service_healthy:true$/);
  const api1 = await state('rdeps-api-1');
  const worker1 = await state('rdeps-worker-1');
  // compose restart db: api (restart: true) goes along, once db is healthy again; worker does not
  const r = await compose(dir, ['--progress', 'plain', 'restart', 'db']);
  ok(r, 'restart db');
  assert.match(r.stderr, /Container rdeps-api-1 Started/);
  assert.ok(r.stderr.indexOf('Container rdeps-db-1 Healthy') < r.stderr.indexOf('Container rdeps-api-1 Restarting'), r.stderr);
  const api2 = await state('rdeps-api-1');
  assert.notEqual(api2.started, api1.started, 'api restarted');
  assert.equal((await state('rdeps-worker-1')).started, worker1.started, 'worker left alone');
  // --no-deps: only db
  ok(await compose(dir, ['restart', '--no-deps', 'db']), 'restart --no-deps');
  assert.equal((await state('rdeps-api-1')).started, api2.started, 'api not restarted with --no-deps');
  // db's configuration changes: up recreates it, stops api first and starts it again (same container) after db
  writeFileSync(path.join(dir, 'compose.yaml'), file('2'));
  const u = await compose(dir, ['--progress', 'plain', 'up', '-d']);
  ok(u, 'up after change');
  assert.ok(u.stderr.indexOf('Container rdeps-api-1 Stopped') < u.stderr.indexOf('Container rdeps-db-1 Recreated'), u.stderr);
  assert.ok(u.stderr.indexOf('Container rdeps-db-1 Healthy') < u.stderr.indexOf('Container rdeps-api-1 Started'), u.stderr);
  const api3 = await state('rdeps-api-1');
  assert.equal(api3.id, api1.id, 'api kept, not recreated');
  assert.ok(api3.running && api3.started !== api2.started, 'api restarted');
  const worker3 = await state('rdeps-worker-1');
  assert.equal(worker3.id, worker1.id);
  assert.equal(worker3.started, worker1.started, 'worker left alone');
  ok(await compose(dir, ['down', '-t', '0']), 'down');
});
