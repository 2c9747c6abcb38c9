// End-to-end CLI flows against a fake Engine API daemon (test/unit/cli-mockdaemon.ts): docker's request
// order for run (create → attach → wait → start), hijacked stdio with stdcopy demux and stdin half-close,
// pull-on-404, exit statuses, exec, logs, ps, inspect and the per-id error reporting.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { MockDaemon } from './cli-mockdaemon';
import { BERTH } from '../helpers/daemon';


interface Result { code: number; stdout: string; stderr: string }

function berth(args: string[], opts: { host?: string; input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(BERTH, args, {
      env: { ...process.env, BERTH_HOST: opts.host ?? daemon.host, DOCKER_HOST: '', ...(opts.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`berth ${args.join(' ')} timed out; stderr: ${stderr}`)); }, 30000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

let daemon: MockDaemon;

before(async () => {
  daemon = new MockDaemon();
  await daemon.listen();
});

after(async () => {
  await daemon.close();
});

/** The requests made by the last command, e.g. ["POST /containers/create", …]. */
function since(mark: number): string[] {
  return daemon.requests.slice(mark).map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{64}/, '<id>')}`);
}

test('run: create, then attach and wait (sent together), then start; output demuxed; exit 0', async () => {
  const mark = daemon.requests.length;
  const r = await berth(['run', 'busybox', 'echo', 'hello', 'world']);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, 'hello world\n');
  assert.equal(r.code, 0);
  // docker's guarantees: attach (no output lost) and wait (the exit not missed) are both in place before start
  const order = since(mark);
  assert.equal(order[0], 'POST /containers/create');
  assert.deepEqual(order.slice(1, 3).sort(), ['POST /containers/<id>/attach', 'POST /containers/<id>/wait']);
  assert.deepEqual(order.slice(3), ['POST /containers/<id>/start']);
  const reqs = daemon.requests.slice(mark);
  const attach = reqs.find((q) => q.path.endsWith('/attach'))!;
  assert.deepEqual(attach.query, { stream: '1', stdout: '1', stderr: '1' });
  assert.equal(attach.headers.upgrade, 'tcp');
  assert.equal(attach.headers.connection, 'Upgrade');
  assert.deepEqual(reqs.find((q) => q.path.endsWith('/wait'))!.query, { condition: 'next-exit' });
  const body = JSON.parse(reqs[0].body);
  assert.deepEqual(body.Cmd, ['echo', 'hello', 'world']);
  assert.equal(body.HostConfig.NetworkMode, 'default');
  assert.ok(reqs.every((q) => q.path === '/containers/create' || /^\/containers\//.test(q.path)));
});

test('run: the exit status is the container\'s; stderr frames go to stderr', async () => {
  const r = await berth(['run', 'busybox', 'fail', '3']);
  assert.equal(r.code, 3);
  assert.equal(r.stderr, 'failing\n');
  assert.equal(r.stdout, '');
});

test('run -i pipes stdin and half-closes it at EOF', async () => {
  const r = await berth(['run', '-i', 'busybox', 'cat'], { input: 'hi\nthere\n' });
  assert.equal(r.stdout, 'hi\nthere\n');
  assert.equal(r.code, 0);
  const attach = daemon.requests.filter((q) => q.path.endsWith('/attach')).pop()!;
  assert.equal(attach.query.stdin, '1');
  const create = JSON.parse(daemon.requests.filter((q) => q.path === '/containers/create').pop()!.body);
  assert.equal(create.OpenStdin, true);
  assert.equal(create.StdinOnce, true);
  assert.equal(create.AttachStdin, true);
});

test('run -d prints the full id; wait before start, no attach', async () => {
  const mark = daemon.requests.length;
  const r = await berth(['run', '-d', '--rm', 'busybox', 'sleep', '0.05']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  assert.deepEqual(since(mark), ['POST /containers/create', 'POST /containers/<id>/wait', 'POST /containers/<id>/start']);
  assert.equal(daemon.requests[mark + 1].query.condition, 'removed');
  const body = JSON.parse(daemon.requests[mark].body);
  assert.equal(body.AttachStdout, false);
  assert.equal(body.HostConfig.AutoRemove, true);
});

test('run pulls a missing image then creates again', async () => {
  const mark = daemon.requests.length;
  const r = await berth(['run', 'alpine', 'echo', 'ok']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ok\n');
  assert.match(r.stderr, /^Unable to find image 'alpine:latest' locally\n/);
  assert.match(r.stderr, /Status: Downloaded newer image for docker\.io\/library\/alpine:latest\n$/);
  assert.ok(!r.stderr.includes('Downloading'), 'no progress bars when stderr is not a terminal');
  const s = since(mark);
  assert.deepEqual(s.slice(0, 3), ['POST /containers/create', 'POST /images/create', 'POST /containers/create']);
  assert.deepEqual(daemon.requests[mark + 1].query, { fromImage: 'docker.io/library/alpine', tag: 'latest' });
});

test('run: pull failure and start failure give docker\'s exit statuses', async () => {
  let r = await berth(['run', 'nosuch']);
  assert.equal(r.code, 125);
  assert.equal(r.stderr, "Unable to find image 'nosuch:latest' locally\nPulling from docker.io/library/nosuch\nberth: pull access denied for nosuch, repository does not exist\n\nRun 'berth run --help' for more information\n");
  r = await berth(['run', 'busybox', 'nonexistent']);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /^berth: Error response from daemon: failed to create task for container: exec: "nonexistent": executable file not found in \$PATH: unknown\n\nRun 'berth run --help' for more information\n$/);
  r = await berth(['create', '--pull', 'never', 'alpine2']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error response from daemon: No such image: alpine2:latest\n');
  r = await berth(['run', '--pull', 'sometimes', 'busybox']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^berth: invalid pull option: 'sometimes': must be one of "always", "missing" or "never"/);
});

test('run tolerates a daemon that sends wait headers only at exit', async () => {
  daemon.waitHeadersAtExit = true;
  try {
    const r = await berth(['run', 'busybox', 'fail', '2']);
    assert.equal(r.code, 2);
  } finally {
    daemon.waitHeadersAtExit = false;
  }
});

test('run -t without a terminal on stdin fails like docker', async () => {
  const r = await berth(['run', '-it', 'busybox', 'cat']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'the input device is not a TTY\n');
});

test('create prints the id; start/stop/kill/rm print names and collect errors', async () => {
  const c = await berth(['create', '--name', 'web', 'busybox', 'sleep', '5']);
  assert.equal(c.code, 0);
  assert.match(c.stdout, /^[0-9a-f]{64}\n$/);
  let r = await berth(['stop', '-t', '1', 'web', 'missing1', 'web']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'web\nweb\n');
  assert.equal(r.stderr, 'Error response from daemon: No such container: missing1\n');
  const stop = daemon.requests.filter((q) => q.path.endsWith('/stop')).pop()!;
  assert.deepEqual(stop.query, { t: '1' });
  r = await berth(['kill', '-s', 'HUP', 'web']);
  assert.equal(r.stdout, 'web\n');
  assert.deepEqual(daemon.requests.filter((q) => q.path.endsWith('/kill')).pop()!.query, { signal: 'HUP' });
  r = await berth(['start', 'web', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'web\n');
  assert.equal(r.stderr, 'Error response from daemon: No such container: nope\nError: failed to start containers: nope\n');
  r = await berth(['rm', '-f', 'nope']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, 'Error response from daemon: No such container: nope\n');
  r = await berth(['rm', '-fv', 'web']);
  assert.equal(r.stdout, 'web\n');
  assert.deepEqual(daemon.requests.filter((q) => q.method === 'DELETE').pop()!.query, { force: '1', v: '1' });
});

test('exec: inspect, create, start (hijacked), exit code from exec inspect', async () => {
  await berth(['create', '--name', 'box', 'busybox', 'sleep', '5']);
  const mark = daemon.requests.length;
  let r = await berth(['exec', '-e', 'A=1', '-w', '/tmp', 'box', 'ls', '-l']);
  assert.equal(r.stdout, 'ls -l\n');
  assert.equal(r.code, 0);
  assert.deepEqual(since(mark), ['GET /containers/box/json', 'POST /containers/box/exec', 'POST /exec/<id>/start', 'GET /exec/<id>/json']);
  const create = JSON.parse(daemon.requests[mark + 1].body);
  assert.deepEqual(create, { User: '', Privileged: false, Tty: false, ConsoleSize: null, AttachStdin: false, AttachStderr: true, AttachStdout: true, Detach: false, DetachKeys: '', Env: ['A=1'], WorkingDir: '/tmp', Cmd: ['ls', '-l'] });
  assert.deepEqual(JSON.parse(daemon.requests[mark + 2].body), { Detach: false, Tty: false, ConsoleSize: null });
  r = await berth(['exec', '-i', 'box', 'cat'], { input: 'piped to exec\n' });
  assert.equal(r.stdout, 'piped to exec\n');
  assert.equal(r.code, 0);
  r = await berth(['exec', 'box', 'fail', '4']);
  assert.equal(r.code, 4);
  assert.equal(r.stderr, 'exec failed\n');
  r = await berth(['exec', 'nope', 'ls']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Error response from daemon: No such container: nope\n');
});

test('logs: stdcopy frames split to stdout and stderr; timestamps → API query', async () => {
  await berth(['create', '--name', 'logger', 'busybox']);
  const r = await berth(['logs', '-t', '--tail', '5', '--since', '1700000000', 'logger']);
  assert.equal(r.stdout, 'out line\n');
  assert.equal(r.stderr, 'err line\n');
  const q = daemon.requests.filter((x) => x.path.endsWith('/logs')).pop()!.query;
  assert.deepEqual(q, { stdout: '1', stderr: '1', since: '1700000000', timestamps: '1', tail: '5' });
});

test('ps: table, quiet, --format, filters and --last in the query', async () => {
  daemon.list = [{
    Id: 'a'.repeat(64), Names: ['/web'], Image: 'nginx:latest', ImageID: 'sha256:' + 'b'.repeat(64), Command: 'nginx -g "daemon off;"',
    Created: Math.floor(Date.now() / 1000) - 125, Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8965, Type: 'tcp' }],
    Labels: { tier: 'front' }, State: 'running', Status: 'Up 2 minutes', NetworkSettings: { Networks: { bridge: {} } }, Mounts: [],
  }];
  let r = await berth(['ps']);
  assert.equal(r.stdout,
    'CONTAINER ID   IMAGE          COMMAND                   CREATED         STATUS         PORTS                  NAMES\n' +
    'aaaaaaaaaaaa   nginx:latest   "nginx -g \\"daemon of…"   2 minutes ago   Up 2 minutes   0.0.0.0:8965->80/tcp   web\n');
  r = await berth(['ps', '-q', '-a', '--filter', 'status=running', '-f', 'label=tier=front', '-n', '3']);
  assert.equal(r.stdout, 'aaaaaaaaaaaa\n');
  const q = daemon.requests.filter((x) => x.path === '/containers/json').pop()!.query;
  assert.deepEqual(q, { all: '1', limit: '3', filters: '{"status":{"running":true},"label":{"tier=front":true}}' });
  r = await berth(['ps', '--format', '{{.Names}}: {{.Label "tier"}} {{.Size}}']);
  assert.equal(r.stdout, 'web: front 0B\n');
  assert.equal(daemon.requests.filter((x) => x.path === '/containers/json').pop()!.query.size, '1');
  r = await berth(['container', 'ls', '--format', '{{.Nope}}']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'failed to execute template: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext\n');
  r = await berth(['ps', '-l', '-q', '--format', '{{.ID}}']);
  assert.equal(r.stderr, 'WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
  assert.equal(daemon.requests.filter((x) => x.path === '/containers/json').pop()!.query.limit, '1');
});

test('inspect: raw JSON array, --format per object, not-found errors', async () => {
  await berth(['create', '--name', 'insp', 'busybox', 'echo']);
  let r = await berth(['inspect', 'insp']);
  const arr = JSON.parse(r.stdout);
  assert.equal(arr.length, 1);
  assert.equal(arr[0].Name, '/insp');
  assert.match(r.stdout, /^\[\n    \{\n        "Id": "[0-9a-f]{64}",\n/);
  r = await berth(['inspect', '-f', '{{.Name}} {{json .Config.Cmd}}', 'insp', 'nothere']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '/insp ["echo"]\n');
  assert.equal(r.stderr, 'Error: No such object: nothere\n');
  r = await berth(['inspect', 'nothere']);
  assert.equal(r.stdout, '[]\n');
  assert.equal(r.code, 1);
  r = await berth(['image', 'inspect', '--format', '{{.Id}}', 'busybox']);
  assert.equal(r.stdout, 'sha256:' + 'cd'.repeat(32) + '\n');
  r = await berth(['inspect', '--type', 'bogus', 'x']);
  assert.equal(r.stderr, 'unknown type: "bogus": must be one of "config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"\n');
});

test('images, rmi, tag, import', async () => {
  daemon.imageList = [{ Id: 'sha256:' + 'c'.repeat(64), RepoTags: ['busybox:latest'], RepoDigests: [], Created: Math.floor(Date.now() / 1000) - 86400 * 20, Size: 4261550 }];
  let r = await berth(['images']);
  assert.equal(r.stdout, 'REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\nbusybox      latest    cccccccccccc   2 weeks ago   4.26MB\n');
  r = await berth(['image', 'ls', '-q', '--filter', 'dangling=true', 'busy*']);
  assert.deepEqual(daemon.requests.filter((x) => x.path === '/images/json').pop()!.query, { filters: '{"dangling":{"true":true},"reference":{"busy*":true}}' });
  r = await berth(['rmi', 'busybox', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `Untagged: busybox:latest\nDeleted: sha256:${'cd'.repeat(32)}\n`);
  assert.equal(r.stderr, 'Error response from daemon: No such image: nope\n');
  r = await berth(['tag', 'busybox', 'me/app:v1']);
  assert.equal(r.code, 0);
  assert.deepEqual(daemon.requests.filter((x) => x.path.endsWith('/tag')).pop()!.query, { repo: 'docker.io/me/app', tag: 'v1' });
  r = await berth(['import', '-c', 'CMD ["sh"]', '-m', 'msg', '-', 'imported:1'], { input: 'tar bytes' });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `sha256:${'ab'.repeat(32)}\n`);
  const imp = daemon.requests.filter((x) => x.path === '/images/create').pop()!;
  assert.deepEqual(imp.query, { changes: 'CMD ["sh"]', fromSrc: '-', message: 'msg', repo: 'imported:1' });
  assert.equal(imp.body, 'tar bytes');
});

test('version and info talk to the daemon; no daemon gives docker\'s error', async () => {
  let r = await berth(['version', '--format', '{{.Server.Version}}|{{.Client.APIVersion}}']);
  assert.equal(r.stdout, '0.1.0|1.43\n');
  r = await berth(['info', '--format', '{{.Driver}} {{.NCPU}}']);
  assert.equal(r.stdout, 'overlay2 2\n');
  r = await berth(['info']);
  assert.match(r.stdout, /^Client:\n Version:    0\.1\.0\n Context:    default\n Debug Mode: false\n\nServer:\n Containers: 2\n  Running: 1\n/);
  assert.match(r.stdout, /\n Total Memory: 7\.687GiB\n/);
  const host = 'unix:///nonexistent/berth.sock';
  r = await berth(['ps'], { host });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `Cannot connect to the berth daemon at ${host}. Is the berth daemon running?\n`);
  r = await berth(['version'], { host });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^Client:\n Version:           0\.1\.0\n API version:       1\.43\n/);
  r = await berth(['-H', host, 'ps']);
  assert.match(r.stderr, /^Cannot connect to the berth daemon at unix:\/\/\/nonexistent\/berth\.sock\./);
});

test('usage errors and help exit codes', async () => {
  let r = await berth(['run', '--foo', 'x']);
  assert.equal(r.code, 125);
  assert.equal(r.stderr, "unknown flag: --foo\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n");
  r = await berth(['foo']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "berth: unknown command: berth foo\n\nRun 'berth --help' for more information\n");
  r = await berth(['ps', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage:  berth ps \[OPTIONS\]\n/);
  r = await berth(['help', 'container', 'ls']);
  assert.match(r.stdout, /^Usage:  berth container ls \[OPTIONS\]\n/);
  r = await berth(['container']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /^Usage:  berth container COMMAND\n\nManage containers\n\nCommands:\n  attach      Attach local/);
  r = await berth(['image', 'rm', '--help']);
  assert.match(r.stdout, /^Usage:  berth image rm \[OPTIONS\] IMAGE \[IMAGE\.\.\.\]\n\nRemove one or more images\n\nAliases:\n  berth image rm, berth image remove, berth rmi\n/);
  r = await berth(['--version']);
  assert.equal(r.stdout, 'berth version 0.1.0\n');
});

test('compose runs inside the Bun executable (no Node needed), by itself and through the CLI\'s global flags; its exit statuses', async () => {
  const compiled = !fs.lstatSync(path.join(path.dirname(path.dirname(BERTH)), 'dist', 'berth')).isSymbolicLink();
  // without Node on PATH a hand-over to Node would fail: compose must run in the executable itself
  const env: Record<string, string> = compiled ? { PATH: '/nonexistent' } : {};
  for (const pre of [[], ['-H', daemon.host]]) {
    const v = await berth([...pre, 'compose', 'version', '--short'], { env });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
    const bad = await berth([...pre, 'compose', 'nope'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown docker command: "compose nope"/);
  }
});
