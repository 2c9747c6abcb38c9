// The compose loader against compose-go's own cases (ported as data in compose-fixtures/: interpolation,
// dotenv, merge) and its normalisation rules, plus the loading behaviour of Docker Compose v2: files, project
// name, env files, profiles, extends, include, !reset/!override, anchors, and the bad-input messages.
import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'fs';
import * as path from 'path';
import * as os from 'os';
import { parse } from 'yaml';
import { substitute, MissingRequiredError, InvalidTemplateError } from '../../src/compose/template';
import { parseDotenv } from '../../src/compose/dotenv';
import { merge, enforceUnicity } from '../../src/compose/merge';
import { parseYaml } from '../../src/compose/yaml';
import { loadProject, LoadError, normalizeProjectName } from '../../src/compose/loader';
import { configYaml, listHashes } from '../../src/compose/config';
import { serviceHash } from '../../src/compose/convert';

const FIX = path.join(__dirname, '../../../test/unit/compose-fixtures');
const fixture = (name: string) => JSON.parse(readFileSync(path.join(FIX, name), 'utf8'));

describe('interpolation (compose-go template cases)', () => {
  const f = fixture('template.json');
  const lookup = (k: string) => f.env[k] as string | undefined;
  for (const c of f.ok) {
    test(`ok ${c.template}`, () => assert.equal(substitute(c.template, lookup), c.expected));
  }
  for (const c of f.errors) {
    test(`error ${c.template}`, () => {
      assert.throws(() => substitute(c.template, lookup), (err: Error) => {
        assert.ok(err instanceof MissingRequiredError || err instanceof InvalidTemplateError);
        assert.ok(err.message.includes(c.error), `${err.message} should contain ${c.error}`);
        return true;
      });
    });
  }
  for (const c of f.warnings) {
    test(`warnings ${c.template}`, () => {
      let n = 0;
      substitute(c.template, (k) => c.env[k], { onUnset: () => n++ });
      assert.equal(n, c.count);
    });
  }
  test('an invalid template names the whole template', () => {
    assert.throws(() => substitute('a ${ b', () => undefined), { message: 'Invalid template: "a ${ b"' });
  });
});

describe('dotenv (compose-go fixtures)', () => {
  const f = fixture('dotenv.json');
  const lookup = (k: string) => f.lookup[k] as string | undefined;
  for (const file of f.files) {
    test(`file ${file.name}`, () => {
      const got = parseDotenv(file.content, lookup);
      if (file.exact) assert.deepEqual(got, file.expected);
      else for (const [k, v] of Object.entries(file.expected)) assert.equal(got[k], v, k);
    });
  }
  for (const c of f.parse) {
    test(`parses ${JSON.stringify(c.input)}`, () => assert.equal(parseDotenv(c.input)[c.key], c.value));
  }
  for (const c of f.errors) {
    test(`rejects ${JSON.stringify(c.input.slice(0, 30))}`, () => {
      assert.throws(() => parseDotenv(c.input), (err: Error) => err.message.includes(c.error));
    });
  }
  for (const i of f.ignored) test(`ignores ${JSON.stringify(i)}`, () => assert.deepEqual(parseDotenv(i), {}));
  test('variables set earlier in the file and the environment interpolate; the environment wins', () => {
    assert.deepEqual(parseDotenv('A=1\nB=${A}-${C:-x}\nC=3\nD=$C', (k) => (k === 'A' ? 'env' : undefined)), { A: '1', B: 'env-x', C: '3', D: '3' });
  });
});

describe('merge (compose-go override cases)', () => {
  const f = fixture('merge.json');
  for (const c of f.cases) {
    test(`${c.name} (${c.file})`, () => {
      const base = parseYaml(c.base, 'base.yaml').value;
      const over = parseYaml(c.override, 'override.yaml').value;
      const got = enforceUnicity(merge(base, over));
      assert.deepEqual(got, parse(c.expected));
    });
  }
  test('!reset removes and !override replaces', () => {
    const base = parseYaml('services:\n  a:\n    ports: ["80:80"]\n    environment: {A: "1"}\n    volumes: [x:/x]\n', 'b').value;
    const over = parseYaml('services:\n  a:\n    ports: !reset []\n    environment: !reset {}\n    volumes: !override [y:/y]\n', 'o').value;
    assert.deepEqual(merge(base, over), { services: { a: { volumes: ['y:/y'] } } });
    const base2 = parseYaml('services:\n  a:\n    image: x\n    user: root\n', 'b').value;
    const over2 = parseYaml('services:\n  a:\n    user: !reset null\n', 'o').value;
    assert.deepEqual(merge(base2, over2), { services: { a: { image: 'x' } } });
  });
});

// ------------------------------------------------------------------------------------------------ loader

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-unit-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const cleanEnv = { PATH: process.env.PATH, HOME: '/root' };
const load = (dir: string, opts: Parameters<typeof loadProject>[0] = {}) => loadProject({ cwd: dir, env: cleanEnv, ...opts });
const loadErr = (dir: string, opts: Parameters<typeof loadProject>[0] = {}): string => {
  try { load(dir, opts); } catch (err) { assert.ok(err instanceof LoadError, String(err)); return (err as Error).message; }
  assert.fail('expected a load error');
};

describe('normalisation (compose-go normalize cases)', () => {
  test('network names, build defaults, build args from the environment', () => {
    const dir = project({ 'compose.yaml': 'name: myProject\nservices:\n  foo:\n    build:\n      context: ./testdata\n      args:\n        FOO: null\n        ZOT: null\nnetworks:\n  myExternalnet:\n    external: true\n  myNamedNet:\n    name: CustomName\n  mynet: {}\n', 'testdata/Dockerfile': 'FROM x\n' });
    const p = load(dir, { env: { ...cleanEnv, FOO: 'BAR' } });
    assert.equal(p.name, 'myproject');
    assert.deepEqual(p.services.foo.build, { context: path.join(dir, 'testdata'), dockerfile: 'Dockerfile', args: { FOO: 'BAR' } });
    assert.deepEqual(p.services.foo.networks, { default: null });
    assert.deepEqual(p.networks, { default: { name: 'myproject_default' }, myExternalnet: { name: 'myExternalnet', external: true }, myNamedNet: { name: 'CustomName' }, mynet: { name: 'myproject_mynet' } });
    rmSync(dir, { recursive: true });
  });
  test('volume names', () => {
    const dir = project({ 'compose.yaml': 'name: myproject\nservices: {}\nvolumes:\n  myExternalVol:\n    external: true\n  myvol: {}\n  myNamedVol:\n    name: CustomName\n' });
    assert.deepEqual(load(dir).volumes, { myExternalVol: { name: 'myExternalVol', external: true }, myvol: { name: 'myproject_myvol' }, myNamedVol: { name: 'CustomName' } });
    rmSync(dir, { recursive: true });
  });
  test('implicit dependencies from network_mode, namespaces, links and volumes_from', () => {
    const dir = project({ 'compose.yaml': 'name: p\nservices:\n  foo:\n    image: x\n    depends_on:\n      bar:\n        condition: service_healthy\n        required: true\n        restart: true\n    network_mode: service:zot\n  bar:\n    image: x\n    volumes_from:\n      - zot\n      - container:xxx\n  zot: {image: x}\n' });
    const p = load(dir);
    assert.deepEqual(p.services.foo.depends_on, { bar: { condition: 'service_healthy', required: true, restart: true }, zot: { condition: 'service_started', required: true, restart: true } });
    assert.deepEqual(p.services.bar.depends_on, { zot: { condition: 'service_started', required: true, restart: false } });
    assert.equal(p.services.foo.networks, undefined);
    rmSync(dir, { recursive: true });
  });
  test('environment entries without a value come from the environment when set', () => {
    const dir = project({ 'compose.yaml': 'services:\n  test:\n    image: x\n    environment:\n      - FOO\n      - BAR\n      - ZOT=QIX\n' });
    assert.deepEqual(load(dir, { env: { ...cleanEnv, BAR: 'bar', ZOT: 'zot' } }).services.test.environment, { FOO: null, BAR: 'bar', ZOT: 'QIX' });
    rmSync(dir, { recursive: true });
  });
  test('short syntaxes become long ones', () => {
    const dir = project({ 'compose.yaml': 'services:\n  s:\n    image: x\n    command: echo "a b" c\n    ports: ["8080:80", "127.0.0.1:9000-9001:9000-9001/udp", 5000]\n    volumes: ["./data:/data:ro", "named:/n", "/anon"]\n    healthcheck: {test: "wget -q localhost"}\n    ulimits: {nofile: 1024}\n    extra_hosts: ["h:1.2.3.4"]\nvolumes:\n  named: {}\n' });
    const s = load(dir).services.s;
    assert.deepEqual(s.command, ['echo', 'a b', 'c']);
    assert.deepEqual(s.ports, [
      { mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' },
      { mode: 'ingress', host_ip: '127.0.0.1', target: 9000, published: '9000', protocol: 'udp' },
      { mode: 'ingress', host_ip: '127.0.0.1', target: 9001, published: '9001', protocol: 'udp' },
      { mode: 'ingress', target: 5000, protocol: 'tcp' },
    ]);
    assert.deepEqual(s.volumes, [
      { type: 'bind', source: path.join(dir, 'data'), target: '/data', read_only: true, bind: { create_host_path: true } },
      { type: 'volume', source: 'named', target: '/n', volume: {} },
      { type: 'volume', target: '/anon', volume: {} },
    ]);
    assert.deepEqual(s.healthcheck, { test: ['CMD-SHELL', 'wget -q localhost'] });
    assert.deepEqual(s.ulimits, { nofile: 1024 });
    assert.deepEqual(s.extra_hosts, ['h=1.2.3.4']);
    rmSync(dir, { recursive: true });
  });
});

describe('loading a project', () => {
  test('default file, override file, and a parent directory search', () => {
    const dir = project({ 'compose.yaml': 'services:\n  a: {image: one, environment: {X: "1"}}\n', 'compose.override.yaml': 'services:\n  a: {image: two, environment: {Y: "2"}}\n', 'sub/deeper/.keep': '' });
    const p = load(path.join(dir, 'sub/deeper'));
    assert.equal(p.services.a.image, 'two');
    assert.deepEqual(p.services.a.environment, { X: '1', Y: '2' });
    assert.deepEqual(p.configFiles, [path.join(dir, 'compose.yaml'), path.join(dir, 'compose.override.yaml')]);
    assert.equal(p.workingDir, dir);
    rmSync(dir, { recursive: true });
  });
  test('no file: compose\'s message', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-empty-'));
    assert.equal(loadErr(dir), 'no configuration file provided: not found');
    rmSync(dir, { recursive: true });
  });
  test('project name: -p, COMPOSE_PROJECT_NAME (also from .env), name:, directory name; normalised', () => {
    const dir = project({ 'My Project.d/compose.yaml': 'services:\n  a: {image: x}\n', 'named/compose.yaml': 'name: From-File\nservices:\n  a: {image: x}\n', 'envd/compose.yaml': 'name: file\nservices:\n  a: {image: x}\n', 'envd/.env': 'COMPOSE_PROJECT_NAME=from_env\n' });
    assert.equal(load(path.join(dir, 'My Project.d')).name, 'myprojectd');
    assert.equal(load(path.join(dir, 'named')).name, 'from-file');
    assert.equal(load(path.join(dir, 'envd')).name, 'from_env');
    assert.equal(load(path.join(dir, 'envd'), { projectName: 'flag' }).name, 'flag');
    assert.equal(load(path.join(dir, 'named'), { env: { ...cleanEnv, COMPOSE_PROJECT_NAME: 'Env-Name' } }).name, 'env-name');
    assert.match(loadErr(path.join(dir, 'named'), { projectName: 'Bad Name' }), /invalid project name "Bad Name": must consist only of lowercase alphanumeric characters/);
    assert.equal(normalizeProjectName('-_Hello World!'), 'helloworld');
    rmSync(dir, { recursive: true });
  });
  test('-f files merge in order; COMPOSE_FILE; --env-file; interpolation from .env with the environment winning', () => {
    const dir = project({
      'a.yml': 'services:\n  s:\n    image: "busybox:${TAG}"\n    command: ["a"]\n    environment: [A=1]\n',
      'b.yml': 'services:\n  s:\n    command: ["b"]\n    environment: [B=2]\n',
      '.env': 'TAG=fromdotenv\n', 'other.env': 'TAG=fromother\n',
    });
    let p = load(dir, { files: ['a.yml', 'b.yml'] });
    assert.equal(p.services.s.image, 'busybox:fromdotenv');
    assert.deepEqual(p.services.s.command, ['b']);
    assert.deepEqual(p.services.s.environment, { A: '1', B: '2' });
    p = load(dir, { env: { ...cleanEnv, COMPOSE_FILE: 'a.yml:b.yml', TAG: 'fromenv' } });
    assert.equal(p.services.s.image, 'busybox:fromenv');
    assert.equal(load(dir, { files: ['a.yml'], envFiles: ['other.env'] }).services.s.image, 'busybox:fromother');
    assert.match(loadErr(dir, { files: ['a.yml'], envFiles: ['missing.env'] }), /couldn't find env file/);
    rmSync(dir, { recursive: true });
  });
  test('profiles: COMPOSE_PROFILES, --profile, "*" and services named on the command line', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web: {image: x}\n  debug: {image: x, profiles: [dev]}\n  tool: {image: x, profiles: [tools], depends_on: [helper]}\n  helper: {image: x, profiles: [tools]}\n' });
    assert.deepEqual(Object.keys(load(dir).services).sort(), ['web']);
    assert.deepEqual(Object.keys(load(dir, { profiles: ['dev'] }).services).sort(), ['debug', 'web']);
    assert.deepEqual(Object.keys(load(dir, { env: { ...cleanEnv, COMPOSE_PROFILES: 'dev,tools' } }).services).sort(), ['debug', 'helper', 'tool', 'web']);
    assert.deepEqual(Object.keys(load(dir, { profiles: ['*'] }).services).length, 4);
    assert.deepEqual(Object.keys(load(dir, { enableServices: ['tool'] }).services).sort(), ['helper', 'tool', 'web']);
    rmSync(dir, { recursive: true });
  });
  test('a dependency switched off by profiles is an error that names the profiles', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web: {image: x, depends_on: [db]}\n  db: {image: x, profiles: [data]}\n' });
    assert.equal(loadErr(dir), 'service "db" is required by "web" but is disabled. Can be enabled by profiles [data]');
    rmSync(dir, { recursive: true });
  });
  test('extends: same file, another file (paths relative to it), chains, and what is not inherited', () => {
    const dir = project({
      'compose.yaml': 'services:\n  base:\n    image: busybox\n    environment: {A: "1"}\n    depends_on: [other]\n  other: {image: x}\n  child:\n    extends: base\n    environment: {B: "2"}\n  grandchild:\n    extends: {service: child}\n    command: ["x"]\n  remote:\n    extends: {file: lib/common.yml, service: svc}\n',
      'lib/common.yml': 'services:\n  svc:\n    image: remote\n    env_file: vars.env\n    volumes: ["./data:/data"]\n',
      'lib/vars.env': 'R=1\n',
    });
    const p = load(dir);
    assert.deepEqual(p.services.child.environment, { A: '1', B: '2' });
    assert.equal(p.services.child.depends_on, undefined);
    assert.deepEqual(p.services.grandchild.command, ['x']);
    assert.deepEqual(p.services.grandchild.environment, { A: '1', B: '2' });
    assert.equal(p.services.remote.image, 'remote');
    assert.deepEqual(p.services.remote.environment, { R: '1' });
    assert.equal(p.services.remote.volumes?.[0].source, path.join(dir, 'lib/data'));
    rmSync(dir, { recursive: true });
  });
  test('extends cycles are refused', () => {
    const dir = project({ 'compose.yaml': 'services:\n  a: {extends: b, image: x}\n  b: {extends: a, image: x}\n' });
    assert.match(loadErr(dir), /Circular reference with extends/);
    rmSync(dir, { recursive: true });
  });
  test('include: an included project keeps its own paths and .env; conflicts are refused; cycles too', () => {
    const dir = project({
      'compose.yaml': 'include:\n  - sub/compose.yaml\nservices:\n  web: {image: x, depends_on: [db]}\n',
      'sub/compose.yaml': 'services:\n  db:\n    image: "db:${DBTAG}"\n    volumes: ["./init:/init"]\n',
      'sub/.env': 'DBTAG=15\n',
      'conflict/compose.yaml': 'include: [../sub/compose.yaml]\nservices:\n  db: {image: other}\n',
      'cycle/compose.yaml': 'include: [b.yaml]\nservices: {}\n', 'cycle/b.yaml': 'include: [compose.yaml]\nservices: {}\n',
    });
    const p = load(dir);
    assert.equal(p.services.db.image, 'db:15');
    assert.equal(p.services.db.volumes?.[0].source, path.join(dir, 'sub/init'));
    assert.match(loadErr(path.join(dir, 'conflict')), /defines conflicting service db/);
    assert.match(loadErr(path.join(dir, 'cycle')), /include cycle detected/);
    rmSync(dir, { recursive: true });
  });
  test('x- extensions and anchors with merge keys', () => {
    const dir = project({ 'compose.yaml': 'x-common: &common\n  image: busybox\n  environment: {A: "1"}\nservices:\n  a:\n    <<: *common\n    command: ["a"]\n  b:\n    <<: *common\n    image: other\n' });
    const p = load(dir);
    assert.equal(p.services.a.image, 'busybox');
    assert.deepEqual(p.services.a.environment, { A: '1' });
    assert.equal(p.services.b.image, 'other');
    assert.deepEqual(p.extensions, { 'x-common': { image: 'busybox', environment: { A: '1' } } });
    rmSync(dir, { recursive: true });
  });
  test('env_file with required: false and format', () => {
    const dir = project({ 'compose.yaml': 'services:\n  a:\n    image: x\n    env_file:\n      - path: ./present.env\n      - path: ./absent.env\n        required: false\n    environment: {B: override}\n', 'present.env': 'A=1\nB=2\n' });
    assert.deepEqual(load(dir).services.a.environment, { A: '1', B: 'override' });
    writeFileSync(path.join(dir, 'compose.yaml'), 'services:\n  a:\n    image: x\n    env_file: ./absent.env\n');
    assert.match(loadErr(dir), /env file .*absent.env not found/);
    rmSync(dir, { recursive: true });
  });
  test('config output and hashes are stable; a change changes the hash', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: busybox\n    environment: {B: "2", A: "1"}\n    ports: ["80"]\n' });
    const p = load(dir);
    const y = configYaml(p);
    assert.match(y, /^name: /);
    assert.equal(y, configYaml(load(dir)));
    assert.deepEqual(listHashes(p, '*'), [`web ${serviceHash(p.services.web)}`]);
    writeFileSync(path.join(dir, 'compose.yaml'), 'services:\n  web:\n    image: busybox\n    environment: {A: "1", B: "2"}\n    ports: ["80"]\n    scale: 3\n');
    assert.equal(serviceHash(load(dir).services.web), serviceHash(p.services.web), 'key order and scale do not change the hash');
    writeFileSync(path.join(dir, 'compose.yaml'), 'services:\n  web:\n    image: busybox\n    environment: {A: "1", B: "3"}\n');
    assert.notEqual(serviceHash(load(dir).services.web), serviceHash(p.services.web));
    rmSync(dir, { recursive: true });
  });
});

describe('bad input', () => {
  const bad = (content: string, opts: Parameters<typeof loadProject>[0] = {}) => {
    const dir = project({ 'compose.yaml': content });
    try { return loadErr(dir, opts).replace(dir, '<dir>'); } finally { rmSync(dir, { recursive: true }); }
  };
  test('YAML syntax error with file, line and column', () => {
    assert.match(bad('services:\n  web:\n    image: x\n  db: [\n'), /^yaml: <dir>\/compose\.yaml:\d+:\d+: /);
    assert.match(bad('services:\n  web: {image: x}\n  web: {image: y}\n'), /^yaml: <dir>\/compose\.yaml:3:3: Map keys must be unique/);
  });
  test('schema violations name the key and where it is', () => {
    assert.equal(bad('services:\n  web:\n    imag: x\n'), "validating <dir>/compose.yaml:3:5: services.web additional properties 'imag' not allowed");
    assert.equal(bad('services:\n  web:\n    image: x\n    ports: {a: 1}\n'), 'validating <dir>/compose.yaml:4:5: services.web.ports must be a array');
    assert.equal(bad('name: 123\nservices: {}\n'), 'validating <dir>/compose.yaml:1:1: name must be a string');
  });
  test('unknown service in depends_on, dependency cycles', () => {
    assert.equal(bad('services:\n  web: {image: x, depends_on: [dbx]}\n'), 'service "web" depends on undefined service "dbx": invalid compose project');
    assert.equal(bad('services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n'), 'dependency cycle detected: a -> b -> c -> a');
  });
  test('${VAR:?msg} unset', () => {
    assert.equal(bad('services:\n  web: {image: "x:${TAG:?set TAG first}"}\n'), 'error while interpolating services.web.image: required variable TAG is missing a value: set TAG first');
  });
  test('container_name with scale > 1', () => {
    assert.equal(bad('services:\n  web: {image: x, container_name: fixed, scale: 2}\n'), "services.web: can't set container_name and web as container name must be unique: invalid compose project");
  });
  test('undefined volumes and networks', () => {
    assert.equal(bad('services:\n  web: {image: x, volumes: ["data:/d"]}\n'), 'service "web" refers to undefined volume data: invalid compose project');
    assert.equal(bad('services:\n  web: {image: x, networks: [front]}\n'), 'service "web" refers to undefined network front: invalid compose project');
  });
  test('values cast where the schema wants numbers and booleans', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web: {image: x, scale: "${N}", read_only: "${RO}"}\n' });
    const p = load(dir, { env: { ...cleanEnv, N: '3', RO: 'true' } });
    assert.equal(p.services.web.scale, 3);
    assert.equal(p.services.web.read_only, true);
    rmSync(dir, { recursive: true });
  });
});

describe('canonical output against compose-go\'s golden full example', () => {
  const dir = path.join(FIX, 'full');
  test('every field matches, except the differences listed here with their reason', () => {
    const home = '/home/test';
    const subs = [dir, path.join(dir, 'dir'), path.join(dir, 'bar'), path.join(dir, 'example1.env'), path.join(dir, 'example2.env'),
      path.join(dir, 'example1.label'), path.join(dir, 'example2.label'), dir, path.join(dir, 'static'), path.join(home, 'configs'),
      path.join(dir, 'opt'), path.join(dir, 'secret_data'), path.join(dir, 'config_data'), path.join(home, 'config_data')];
    let i = 0;
    const expected = parse(readFileSync(path.join(dir, 'expected.yaml.tmpl'), 'utf8').replace(/%s/g, () => subs[i++]));
    const p = loadProject({ cwd: dir, env: { HOME: home, QUX: 'qux_from_environment' }, consistency: false });
    const got = JSON.parse(JSON.stringify(require('../../src/compose/config').canonical(p)));
    const sortk = (v: unknown): unknown => Array.isArray(v) ? v.map(sortk) : v && typeof v === 'object'
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortk((v as Record<string, unknown>)[k])])) : v;
    const differ: string[] = [];
    let same = 0;
    for (const sec of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
      for (const name of new Set([...Object.keys(expected[sec] ?? {}), ...Object.keys(got[sec] ?? {})])) {
        const e = expected[sec]?.[name] ?? {};
        const g = got[sec]?.[name] ?? {};
        for (const k of new Set([...Object.keys(e), ...Object.keys(g)])) {
          if (JSON.stringify(sortk(e[k])) === JSON.stringify(sortk(g[k]))) same++;
          else differ.push(`${sec}.${name}.${k}`);
        }
      }
    }
    // what differs, and why (the golden is compose-go's model, before what `docker compose config` adds):
    const known = [
      // `config` names project networks/volumes/secrets/configs and gives services the default network
      'services.bar.networks', 'networks.other-network.name', 'networks.some-network.name', 'networks.default.name', 'networks.external-network.name',
      'volumes.other-volume.name', 'volumes.some-volume.name', 'volumes.external-volume.name', 'secrets.secret1.name', 'secrets.secret3.name',
      'secrets.secret5.name', 'configs.config1.name', 'configs.config3.name',
      // file modes: the golden keeps the text "0440", berth the number it means (0o440)
      'services.foo.build', 'services.foo.configs', 'services.foo.secrets',
      // durations and sizes as written ("60s", "50M"), not re-formatted the Go way ("1m0s", bytes)
      'services.foo.deploy',
      // env_file contents are folded into environment, as `docker compose config` prints them
      'services.foo.env_file',
      // short-syntax binds get create_host_path: true (compose's config shows it); tmpfs size as written
      'services.foo.volumes',
    ];
    assert.deepEqual(differ.sort(), known.sort());
    assert.ok(same >= 89, `${same} fields equal`);
  });
});
