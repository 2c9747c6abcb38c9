// The classic builder end to end: `DOCKER_BUILDKIT=0 docker build` (the real docker CLI) and `berth build`
// against a private daemon, with real RUN containers, the step cache, multi-stage builds and errors.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, RunResult } from '../helpers/daemon';

const d = new TestDaemon('build');
let work: string;
before(async () => {
  await d.start();
  await d.loadBusybox();
  work = mkdtempSync(path.join(os.tmpdir(), 'berth-build-'));
});
after(async () => {
  await d.stop();
  rmSync(work, { recursive: true, force: true });
});

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };
const LONG = { timeoutMs: 180_000 };
const dockerBuild = (...args: string[]) => d.docker(['build', ...args], { ...LONG, env: { DOCKER_BUILDKIT: '0' } });
const docker = (...args: string[]) => d.docker(args, LONG);
const count = (s: string, what: string) => s.split(what).length - 1;

function context(name: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), content);
  }
  return dir;
}

const SIX = [
  'FROM busybox',
  'RUN echo built > /built.txt && echo run-output-line',
  'COPY hello.txt /app/',
  'ENV GREETING=hi',
  'WORKDIR /app',
  'CMD ["sh", "-c", "cat /built.txt hello.txt; echo $GREETING; pwd"]',
].join('\n') + '\n';

test('a 6-step Dockerfile builds with docker\'s classic output and the image runs', async () => {
  const dir = context('six', { Dockerfile: SIX, 'hello.txt': 'hello from copy\n' });
  const out = ok(await dockerBuild('-t', 'six:1', '-t', 'six:2', dir), 'build');
  for (let i = 1; i <= 6; i++) assert.match(out, new RegExp(`Step ${i}/6 : `));
  assert.match(out, /Step 2\/6 : RUN echo built > \/built.txt && echo run-output-line\n ---> Running in ([0-9a-f]{12})\nrun-output-line\n ---> Removed intermediate container \1\n ---> [0-9a-f]{12}\n/);
  assert.match(out, /Successfully built [0-9a-f]{12}\nSuccessfully tagged six:1\nSuccessfully tagged six:2\n/);
  assert.equal(ok(await docker('run', '--rm', 'six:1'), 'run'), 'built\nhello from copy\nhi\n/app\n');
  // intermediate images: hidden by `images`, shown by `images -a`
  const shown = ok(await docker('images', '-q'), 'images').trim().split('\n').length;
  const all = ok(await docker('images', '-aq'), 'images -a').trim().split('\n').length;
  assert.ok(all >= shown + 4, `images -a (${all}) shows the intermediate images that images (${shown}) hides`);
  const history = ok(await docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', 'six:1'), 'history');
  assert.match(history, /\/bin\/sh -c #\(nop\)  ENV GREETING=hi/);
  assert.match(history, /\/bin\/sh -c echo built > \/built.txt/);
  // no build container is left behind
  assert.equal(ok(await docker('ps', '-aq'), 'ps').trim(), '');
});

test('a second build is all cache; changing a copied file reruns from that COPY on', async () => {
  const dir = path.join(work, 'six');
  const again = ok(await dockerBuild('-t', 'six:1', dir), 'rebuild');
  assert.equal(count(again, ' ---> Using cache'), 5, again);
  assert.doesNotMatch(again, /Running in/);
  writeFileSync(path.join(dir, 'hello.txt'), 'changed\n');
  const changed = ok(await dockerBuild('-t', 'six:1', dir), 'build after change');
  assert.equal(count(changed, ' ---> Using cache'), 1, changed); // only the RUN before the COPY
  assert.match(changed, /Step 3\/6 : COPY hello.txt \/app\/\n ---> [0-9a-f]{12}\n/);
  assert.equal(ok(await docker('run', '--rm', 'six:1'), 'run'), 'built\nchanged\nhi\n/app\n');
  const nocache = ok(await dockerBuild('--no-cache', '-t', 'six:1', dir), 'no-cache');
  assert.equal(count(nocache, 'Using cache'), 0);
});

test('multi-stage: COPY --from a stage, and --target', async () => {
  const dir = context('multi', {
    Dockerfile: [
      'FROM busybox AS builder',
      'ARG WHO=world',
      'RUN mkdir /out && echo "hello $WHO" > /out/greeting',
      'FROM busybox AS other',
      'RUN echo other > /other',
      'FROM scratch',
      'COPY --from=builder /out/greeting /greeting',
      'COPY --from=0 /bin/busybox /bin/cat',
      'CMD ["/bin/cat", "/greeting"]',
    ].join('\n') + '\n',
  });
  ok(await dockerBuild('--build-arg', 'WHO=berth', '-t', 'multi:final', dir), 'build');
  assert.equal(ok(await docker('run', '--rm', 'multi:final'), 'run'), 'hello berth\n');
  const target = ok(await dockerBuild('--target', 'other', '-t', 'multi:other', dir), 'target build');
  assert.match(target, /Step 5\/5 : /);
  assert.doesNotMatch(target, /COPY --from/);
  assert.equal(ok(await docker('run', '--rm', 'multi:other', 'cat', '/other'), 'run target'), 'other\n');
  const bad = await dockerBuild('--target', 'nope', dir);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /failed to reach build target nope in Dockerfile/);
});

test('a failing RUN reports docker\'s text and exit code and tags nothing', async () => {
  const dir = context('fail', { Dockerfile: 'FROM busybox\nRUN echo before-failure && exit 3\nCMD ["true"]\n' });
  const r = await dockerBuild('-t', 'fail:1', dir);
  assert.equal(r.code, 3, r.stderr + r.stdout);
  assert.match(r.stdout, /before-failure/);
  assert.match(r.stderr, /The command '\/bin\/sh -c echo before-failure && exit 3' returned a non-zero code: 3/);
  const inspect = await docker('image', 'inspect', 'fail:1');
  assert.notEqual(inspect.code, 0);
  const r2 = await d.berth(['build', '-t', 'fail:2', dir], LONG);
  assert.equal(r2.code, 3);
  assert.match(r2.stderr, /returned a non-zero code: 3/);
});

test('Dockerfile errors: unknown instruction, no FROM', async () => {
  const unknown = context('unknown', { Dockerfile: 'FROM busybox\nFOO bar\n' });
  const r = await dockerBuild(unknown);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /dockerfile parse error on line 2: unknown instruction: FOO/i);
  const nofrom = context('nofrom', { Dockerfile: 'RUN true\n' });
  const r2 = await dockerBuild(nofrom);
  assert.notEqual(r2.code, 0);
  assert.match(r2.stderr, /no build stage in current context/);
});

test('.dockerignore is honoured (docker CLI and berth build)', async () => {
  const dir = context('ignore', {
    Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN ls /ctx && test ! -e /ctx/secret.txt && test ! -e /ctx/logs/a.log && test -e /ctx/keep.txt\n',
    '.dockerignore': 'secret.txt\nlogs\n',
    'secret.txt': 'secret',
    'keep.txt': 'keep',
    'logs/a.log': 'log',
  });
  ok(await dockerBuild('-t', 'ign:1', dir), 'docker build');
  const out = ok(await d.berth(['build', '-t', 'ign:2', dir], LONG), 'berth build');
  assert.match(out, /Successfully tagged ign:2/);
});

test('berth build: -f, --label, -q, --iidfile, ADD of a local tar', async () => {
  const dir = context('berth', {
    'sub/My.Dockerfile': 'FROM busybox\nADD files.tar /unpacked/\nLABEL stage=one\nRUN cat /unpacked/inner.txt\n',
  });
  // a tar made with the system tar: ADD unpacks it
  const src = path.join(work, 'tarsrc');
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, 'inner.txt'), 'inside the tar\n');
  const { spawnSync } = await import('child_process');
  assert.equal(spawnSync('tar', ['-cf', path.join(dir, 'files.tar'), '-C', src, 'inner.txt']).status, 0);
  const out = ok(await d.berth(['build', '-f', path.join(dir, 'sub/My.Dockerfile'), '--label', 'from=cli', '-t', 'berthb:1', dir], LONG), 'berth build');
  assert.match(out, /inside the tar/);
  assert.match(out, /Step 5\/5 : LABEL "from"="cli"/);
  const labels = JSON.parse(ok(await docker('image', 'inspect', '--format', '{{json .Config.Labels}}', 'berthb:1'), 'inspect'));
  assert.deepEqual(labels, { stage: 'one', from: 'cli' });
  const iid = path.join(work, 'iid');
  const quiet = ok(await d.berth(['build', '-q', '--iidfile', iid, '-f', path.join(dir, 'sub/My.Dockerfile'), dir], LONG), 'quiet');
  assert.match(quiet.trim(), /^sha256:[0-9a-f]{64}$/);
  const { readFileSync } = await import('fs');
  assert.equal(readFileSync(iid, 'utf8'), quiet.trim());
});

test('ONBUILD triggers run in the next build; ADD of a loopback URL; COPY heredoc; --chown/--chmod', async () => {
  const base = context('onbuild', { Dockerfile: 'FROM busybox\nONBUILD RUN echo triggered > /trig\n' });
  ok(await dockerBuild('-t', 'onb:base', base), 'base build');
  const srv = http.createServer((_req, res) => { res.writeHead(200); res.end('served over http\n'); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  try {
    const child = context('onbuild-child', {
      Dockerfile: [
        'FROM onb:base',
        `ADD http://127.0.0.1:${port}/page.txt /web/`,
        'COPY --chown=1234:5678 --chmod=640 <<EOF /inline.txt',
        'inline body',
        'EOF',
        'RUN cat /trig /web/page.txt /inline.txt && stat -c "%u:%g %a" /inline.txt /web/page.txt',
      ].join('\n') + '\n',
    });
    const out = ok(await dockerBuild('-t', 'onb:child', child), 'child build');
    assert.match(out, /# Executing 1 build trigger/);
    assert.match(out, /triggered\nserved over http\ninline body\n1234:5678 640\n0:0 600\n/);
    const onbuild = ok(await docker('image', 'inspect', '--format', '{{json .Config.OnBuild}}', 'onb:child'), 'inspect');
    assert.equal(onbuild.trim(), 'null');
  } finally {
    srv.close();
  }
});

test('the cache survives a daemon restart; builder prune empties it', async () => {
  const dir = path.join(work, 'six');
  await d.stopDaemon();
  await d.start();
  const cached = ok(await dockerBuild('-t', 'six:1', dir), 'build after restart');
  assert.equal(count(cached, ' ---> Using cache'), 5, cached);
  const df = JSON.parse(ok(await docker('system', 'df', '-v', '--format', '{{json .BuildCache}}'), 'df'));
  assert.ok(Array.isArray(df) && df.length >= 5, `df shows the cache: ${JSON.stringify(df)}`);
  const pruned = ok(await d.berth(['builder', 'prune', '-af'], LONG), 'prune');
  assert.match(pruned, /Total reclaimed space:/);
  const after = ok(await dockerBuild('-t', 'six:1', dir), 'build after prune');
  assert.equal(count(after, 'Using cache'), 0, after);
  const dockerPrune = ok(await docker('builder', 'prune', '-af'), 'docker builder prune');
  assert.match(dockerPrune, /Total:|Total reclaimed space/);
});
