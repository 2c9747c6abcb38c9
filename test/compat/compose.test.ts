// Compose across tools and daemons: Debian's docker-compose 1.29 (a real Engine-API client) brings a stack up
// on berth, recreates and removes it; `berth compose` drives Debian's dockerd the same way; and each tool sees
// the other's project through Docker Compose's labels (`berth compose ps` lists what it created on dockerd and
// what docker-compose created on berth; docker-compose lists what berth compose created).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'fs';
import * as path from 'path';
import * as os from 'os';
import { TestDaemon, RunResult, runCmd, BERTH } from '../helpers/daemon';
import { PrivateDockerd } from '../helpers/dockerd';

const HAVE_COMPOSE = existsSync('/usr/bin/docker-compose');
const berthd = new TestDaemon('compose-compat');
const dockerd = new PrivateDockerd(`10.61.${224 + (process.pid % 2) * 16}.0/20`);
const work = mkdtempSync(path.join(os.tmpdir(), 'compose-compat-'));
before(async () => {
  await Promise.all([berthd.start(), dockerd.start()]);
  await Promise.all([berthd.loadBusybox(), dockerd.loadBusybox()]);
});
after(async () => {
  await Promise.all([berthd.stop(), dockerd.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

function stack(name: string, subnet: string, sleepArg = '300'): string {
  const dir = path.join(work, name);
  require('fs').mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'docker-compose.yml'), `version: "3.8"
services:
  db:
    image: busybox
    command: ["sleep", "${sleepArg}"]
    volumes: [data:/data]
  web:
    image: busybox
    command: ["sleep", "${sleepArg}"]
    depends_on: [db]
volumes:
  data: {}
networks:
  default:
    ipam:
      config:
        - subnet: ${subnet}
`);
  return dir;
}

const dc = (host: string, dir: string, args: string[]) =>
  runCmd('/usr/bin/docker-compose', ['--project-directory', dir, '-f', path.join(dir, 'docker-compose.yml'), ...args], { env: { DOCKER_HOST: host, COMPOSE_INTERACTIVE_NO_CLI: '1' }, timeoutMs: 180_000 });
const bc = (host: string, dir: string, args: string[]) =>
  runCmd(BERTH, ['compose', '--project-directory', dir, '-f', path.join(dir, 'docker-compose.yml'), ...args], { env: { BERTH_HOST: '', DOCKER_HOST: host }, timeoutMs: 180_000 });

test('docker-compose 1.29 brings a two-service stack up on berth, recreates it on a change, and takes it down', { skip: !HAVE_COMPOSE && 'docker-compose not installed' }, async () => {
  const dir = stack('dcberth', '10.61.200.0/24');
  ok(await dc(berthd.host, dir, ['up', '-d']), 'docker-compose up');
  const ps = ok(await dc(berthd.host, dir, ['ps']), 'docker-compose ps');
  assert.match(ps, /dcberth_db_1\s+sleep 300\s+Up/);
  assert.match(ps, /dcberth_web_1\s+sleep 300\s+Up/);
  // names resolve on the project network (the connect with aliases before start took effect)
  assert.match(ok(await dc(berthd.host, dir, ['exec', '-T', 'web', 'nslookup', 'db']), 'nslookup'), /Address: 10\.61\.200\./);
  // berth compose sees docker-compose's project through the labels
  const theirs = ok(await bc(berthd.host, dir, ['ps', '--format', '{{.Name}} {{.Service}} {{.State}}']), 'berth compose ps');
  assert.deepEqual(theirs.trim().split('\n').sort(), ['dcberth_db_1 db running', 'dcberth_web_1 web running']);
  // a change recreates (docker-compose reads the image's ContainerConfig for the data volumes)
  const changed = stack('dcberth', '10.61.200.0/24', '301');
  const up2 = await dc(berthd.host, changed, ['up', '-d']);
  ok(up2, 'docker-compose up after a change');
  assert.match(up2.stderr, /Recreating dcberth_db_1/);
  assert.match(ok(await dc(berthd.host, dir, ['ps']), 'ps'), /dcberth_web_1\s+sleep 301\s+Up/);
  ok(await dc(berthd.host, dir, ['down', '-v']), 'docker-compose down');
  assert.equal(ok(await berthd.berth(['ps', '-aq']), 'ps -aq').trim(), '');
  assert.equal((await berthd.api('GET', '/networks/dcberth_default')).status, 404);
  assert.equal((await berthd.api('GET', '/volumes/dcberth_data')).status, 404);
});

test('berth compose drives Debian\'s dockerd; berth compose ps lists what it created there', async () => {
  const dir = stack('bcdockerd', '10.61.201.0/24');
  ok(await bc(dockerd.host, dir, ['up', '-d']), 'berth compose up on dockerd');
  const rows = ok(await bc(dockerd.host, dir, ['ps', '--format', '{{.Name}} {{.Service}} {{.State}}']), 'berth compose ps');
  assert.deepEqual(rows.trim().split('\n').sort(), ['bcdockerd-db-1 db running', 'bcdockerd-web-1 web running']);
  assert.match(ok(await bc(dockerd.host, dir, ['exec', '-T', 'web', 'nslookup', 'db']), 'nslookup'), /Address: 10\.61\.201\./);
  const labels = JSON.parse(ok(await dockerd.docker(['inspect', '-f', '{{json .Config.Labels}}', 'bcdockerd-web-1']), 'inspect'));
  assert.equal(labels['com.docker.compose.project'], 'bcdockerd');
  assert.equal(labels['com.docker.compose.service'], 'web');
  // unchanged: the second up leaves the containers alone
  const id = ok(await dockerd.docker(['inspect', '-f', '{{.Id}}', 'bcdockerd-web-1']), 'id');
  ok(await bc(dockerd.host, dir, ['up', '-d']), 'second up');
  assert.equal(ok(await dockerd.docker(['inspect', '-f', '{{.Id}}', 'bcdockerd-web-1']), 'id'), id);
  if (HAVE_COMPOSE) {
    // docker-compose 1.29 sees the same project by its labels
    const theirs = ok(await dc(dockerd.host, dir, ['ps']), 'docker-compose ps');
    assert.match(theirs, /bcdockerd-web-1/);
  }
  ok(await bc(dockerd.host, dir, ['down', '-v']), 'berth compose down on dockerd');
  assert.equal(ok(await dockerd.docker(['ps', '-aq']), 'ps').trim(), '');
  assert.notEqual((await dockerd.docker(['volume', 'inspect', 'bcdockerd_data'])).code, 0);
});

test('docker-compose 1.29 lists and stops a project berth compose created on berth', { skip: !HAVE_COMPOSE && 'docker-compose not installed' }, async () => {
  const dir = stack('mixed', '10.61.202.0/24');
  ok(await bc(berthd.host, dir, ['up', '-d']), 'berth compose up');
  assert.match(ok(await dc(berthd.host, dir, ['ps']), 'docker-compose ps'), /mixed-db-1[\s\S]*mixed-web-1/);
  ok(await dc(berthd.host, dir, ['stop', '-t', '1']), 'docker-compose stop');
  const states = ok(await bc(berthd.host, dir, ['ps', '-a', '--format', '{{.Name}} {{.State}}']), 'ps');
  assert.deepEqual(states.trim().split('\n').sort(), ['mixed-db-1 exited', 'mixed-web-1 exited']);
  ok(await bc(berthd.host, dir, ['down', '-v']), 'down');
});

test('`docker compose` through the CLI plugin shim runs berth compose against the docker CLI\'s daemon', async () => {
  const cfg = path.join(work, 'docker-config');
  require('fs').mkdirSync(path.join(cfg, 'cli-plugins'), { recursive: true });
  require('fs').symlinkSync(path.join(path.dirname(BERTH), 'berth-compose-plugin'), path.join(cfg, 'cli-plugins', 'docker-compose'));
  const docker = (args: string[]) => runCmd('/usr/local/bin/docker', args, { env: { DOCKER_CONFIG: cfg, DOCKER_HOST: berthd.host }, timeoutMs: 120_000 });
  assert.match(ok(await docker(['compose', 'version']), 'docker compose version'), /^berth compose version v2\./);
  assert.match(ok(await docker(['--help']), 'docker --help'), /compose\*\s+Docker Compose \(berth compose\)/);
  const dir = stack('plugin', '10.61.203.0/24');
  ok(await docker(['compose', '-f', path.join(dir, 'docker-compose.yml'), 'up', '-d']), 'docker compose up');
  const rows = ok(await docker(['-H', berthd.host, 'compose', '-f', path.join(dir, 'docker-compose.yml'), 'ps', '--format', '{{.Name}}']), 'docker -H compose ps');
  assert.deepEqual(rows.trim().split('\n').sort(), ['plugin-db-1', 'plugin-web-1']);
  ok(await docker(['compose', '-f', path.join(dir, 'docker-compose.yml'), 'down', '-v']), 'docker compose down');
});
