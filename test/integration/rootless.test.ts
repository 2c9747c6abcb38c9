// Rootless berth end to end (issue 18), as a dedicated unprivileged user the test creates: `berth daemon` run by
// that user, the seed workflows through the real docker CLI against its socket, what the user namespace must
// confine (host files, ids seen from the host, the daemon's own files), and the bad-input cases.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs, existsSync, lstatSync, readFileSync, readdirSync, statSync, writeFileSync, mkdtempSync, rmSync } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { RootlessUser, sh, testUserName } from '../helpers/rootless';
import { RegistryServer, tempDir } from './registry-fixture';

const isRoot = process.getuid?.() === 0;
const hasTools = ['/usr/bin/newuidmap', '/usr/bin/slirp4netns', '/usr/local/bin/docker'].every((f) => existsSync(f));
const skip = !isRoot ? 'needs root (creates a user)' : !hasTools ? 'needs uidmap, slirp4netns and the docker CLI (scripts/setup)' : false;

const user = new RootlessUser(testUserName('t'));
const n = process.pid % 250;
const daemonArgs = ['--bridge', `bl${process.pid % 100000}`, '--bip', `10.67.${n}.0/24`];
let hostDir = '';

function httpGet(port: number, p = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

async function freePort(): Promise<number> {
  const net = await import('net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

before(async () => {
  if (skip) return;
  await user.create();
  await user.startDaemon(daemonArgs);
  // the offline busybox image, imported by the user through the rootless socket
  // (a timeout of its own: under a load of 20 on 2 cores the import once took longer than the default 120 s)
  const r = await user.exec('bash', [path.join(user.root, 'scripts/busybox-image'), '-H', user.host], { env: { BERTH: path.join(user.root, 'bin/berth') }, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  // a host directory the user cannot write: root's, mode 0755, with a root-owned file
  hostDir = mkdtempSync(path.join(os.tmpdir(), 'berth-rootless-host-'));
  await fs.chmod(hostDir, 0o755);
  writeFileSync(path.join(hostDir, 'root-file'), 'untouched\n', { mode: 0o644 });
});

after(async () => {
  if (skip) return;
  if (process.env.BERTH_TEST_DEBUG) process.stderr.write(`--- rootless daemon log\n${user.log}\n`);
  await user.remove();
  if (hostDir) rmSync(hostDir, { recursive: true, force: true });
});

test('the daemon runs as the user: paths, socket, info says rootless with name=rootless and name=userns', { skip }, async () => {
  assert.ok(existsSync(user.socket), 'socket under $XDG_RUNTIME_DIR/berth');
  assert.equal(statSync(user.socket).uid, user.uid);
  assert.ok(existsSync(path.join(user.dataRoot, 'engine-id')), 'data root under ~/.local/share/berth');
  const info = await user.api('GET', '/info');
  assert.ok(info.body.SecurityOptions.includes('name=rootless'), JSON.stringify(info.body.SecurityOptions));
  assert.ok(info.body.SecurityOptions.includes('name=userns'));
  assert.equal(info.body.DockerRootDir, user.dataRoot);
  const d = await user.docker(['info', '--format', '{{.SecurityOptions}} {{.DockerRootDir}} {{.CgroupDriver}}']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /name=rootless/);
  // every process of the daemon runs as the user on the host; nothing as root
  const pids = user.processes();
  assert.ok(pids.length >= 3, 'parent, namespace holder, slirp4netns, daemon');
  // the berth CLI run by the user finds the rootless socket by itself (no -H, no DOCKER_HOST)
  const v = await user.berth(['version', '--format', '{{.Server.Version}}']);
  assert.equal(v.code, 0, v.stderr);
});

test('seed workflow through the docker CLI: run -d -p, ps, logs, exec -it, stop, kill, rm', { skip }, async () => {
  const port = await freePort();
  const run = await user.docker(['run', '-d', '--name', 'web', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'echo started; mkdir -p /www && echo hello-rootless > /www/index.html && httpd -f -p 80 -h /www']);
  assert.equal(run.code, 0, run.stderr);
  let got: { status: number; body: string } | undefined;
  for (let i = 0; i < 50 && !got; i++) {
    got = await httpGet(port).catch(() => undefined);
    if (!got) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(got?.status, 200);
  assert.equal(got?.body, 'hello-rootless\n');
  const ps = await user.docker(['ps', '--format', '{{.Names}} {{.Ports}}']);
  assert.match(ps.stdout, new RegExp(`web 0\\.0\\.0\\.0:${port}->80/tcp`));
  const logs = await user.docker(['logs', 'web']);
  assert.match(logs.stdout, /started/);
  // exec -it needs a terminal: script(1) gives the docker CLI one
  const it = await user.exec('script', ['-qec', "docker exec -it web sh -c 'tty; id -u'", '/dev/null'], { env: { DOCKER_HOST: user.host } });
  assert.equal(it.code, 0, it.stderr + it.stdout);
  assert.match(it.stdout, /\/dev\/pts\/\d+/);
  assert.match(it.stdout, /\b0\r?\n/);
  assert.equal((await user.docker(['stop', '-t', '1', 'web'])).code, 0);
  assert.equal((await user.docker(['start', 'web'])).code, 0);
  assert.equal((await user.docker(['kill', 'web'])).code, 0);
  assert.equal((await user.docker(['rm', 'web'])).code, 0);
  // the host port is released: it can be bound again
  assert.ok(await freePortIsFree(port));
});

async function freePortIsFree(port: number): Promise<boolean> {
  const net = await import('net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

test('seed workflow through the berth CLI, which finds the rootless socket by itself', { skip }, async () => {
  const port = await freePort();
  const b = (args: string[]) => user.berth(args);
  const run = await b(['run', '-d', '--name', 'bweb', '-p', `${port}:80`, 'busybox', 'sh', '-c', 'echo up; mkdir -p /www && echo via-berth > /www/index.html && httpd -f -p 80 -h /www']);
  assert.equal(run.code, 0, run.stderr);
  let got: { status: number; body: string } | undefined;
  for (let i = 0; i < 50 && !got; i++) {
    got = await httpGet(port).catch(() => undefined);
    if (!got) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(got?.body, 'via-berth\n');
  assert.match((await b(['ps'])).stdout, new RegExp(`0\\.0\\.0\\.0:${port}->80/tcp\\s+bweb`));
  assert.match((await b(['logs', 'bweb'])).stdout, /up/);
  const it = await user.exec('script', ['-qec', `${path.join(user.root, 'bin/berth')} exec -it bweb sh -c 'tty'`, '/dev/null']);
  assert.match(it.stdout, /\/dev\/pts\/\d+/, `code ${it.code} err ${it.stderr}`);
  assert.equal((await b(['stop', '-t', '1', 'bweb'])).code, 0);
  assert.equal((await b(['rm', 'bweb'])).code, 0);
  assert.equal((await b(['volume', 'create', 'bvol'])).code, 0);
  assert.equal((await b(['run', '--rm', '-v', 'bvol:/v', 'busybox', 'sh', '-c', 'echo x > /v/x'])).code, 0);
  assert.match((await b(['volume', 'ls', '-q'])).stdout, /^bvol$/m);
  assert.equal((await b(['volume', 'rm', 'bvol'])).code, 0);
  assert.equal((await b(['network', 'create', 'bnet'])).code, 0);
  const look = await b(['run', '--rm', '--network', 'bnet', '--name', 'bself', 'busybox', 'nslookup', 'bself']);
  assert.equal(look.code, 0, look.stderr);
  assert.equal((await b(['network', 'rm', 'bnet'])).code, 0);
});

test('volumes: data written in a container is kept, owned on the host by the user and its subordinate ids', { skip }, async () => {
  assert.equal((await user.docker(['volume', 'create', 'data'])).code, 0);
  const w = await user.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f && chown 1000:1000 /data/f']);
  assert.equal(w.code, 0, w.stderr);
  const r = await user.docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'cat', '/data/f']);
  assert.equal(r.stdout, 'kept\n');
  const file = path.join(user.dataRoot, 'volumes', 'data', '_data', 'f');
  // container uid 1000 is subordinate id 1000 - 1 + start on the host
  assert.equal(statSync(file).uid, user.subuids.start + 999);
  assert.equal((await user.docker(['volume', 'rm', 'data'])).code, 0);
});

test('build (classic builder) and run of an image with many owners', { skip }, async () => {
  const ctx = await user.exec('mktemp', ['-d']);
  const dir = ctx.stdout.trim();
  await user.exec('sh', ['-c', `printf 'FROM busybox\\nRUN mkdir /app && echo built > /app/x && chown -R 1234:2345 /app && chown 65534:65534 /tmp\\nUSER 1234\\nCMD cat /app/x; id -u; stat -c %%u:%%g /tmp\\n' > ${dir}/Dockerfile`]);
  const b = await user.docker(['build', '-q', '-t', 'rl/app', dir], { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(b.code, 0, b.stderr);
  const r = await user.docker(['run', '--rm', 'rl/app']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'built\n1234\n65534:65534\n');
});

test('pull and push against a registry on the host\'s loopback', { skip }, async () => {
  const root = await tempDir('berth-rootless-reg-');
  const reg = await new RegistryServer(root).start();
  try {
    const ref = `${reg.hostPort}/rootless/busybox:1`;
    assert.equal((await user.docker(['tag', 'busybox', ref])).code, 0);
    const push = await user.docker(['push', ref]);
    assert.equal(push.code, 0, push.stderr);
    assert.equal((await user.docker(['rmi', ref])).code, 0);
    const pull = await user.docker(['pull', `localhost:${reg.hostPort.split(':')[1]}/rootless/busybox:1`]);
    assert.equal(pull.code, 0, pull.stderr);
    const r = await user.docker(['run', '--rm', `localhost:${reg.hostPort.split(':')[1]}/rootless/busybox:1`, 'echo', 'pulled']);
    assert.equal(r.stdout, 'pulled\n');
  } finally {
    await reg.stop();
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('user-defined networks: names resolve through the embedded DNS, inside the daemon\'s namespace', { skip }, async () => {
  assert.equal((await user.docker(['network', 'create', 'appnet'])).code, 0);
  try {
    const db = await user.docker(['run', '-d', '--name', 'db', '--network', 'appnet', '--network-alias', 'database', 'busybox', 'sleep', '300']);
    assert.equal(db.code, 0, db.stderr);
    const ip = (await user.docker(['inspect', '-f', '{{.NetworkSettings.Networks.appnet.IPAddress}}', 'db'])).stdout.trim();
    const look = await user.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'nslookup', 'database']);
    assert.match(look.stdout, new RegExp(ip.replace(/\./g, '\\.')));
    const ping = await user.docker(['run', '--rm', '--network', 'appnet', 'busybox', 'ping', '-c', '1', '-W', '2', 'db']);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    // the bridge lives in the daemon's namespace, not on the host
    assert.ok(!existsSync(`/sys/class/net/${daemonArgs[1]}`), 'no bridge on the host');
  } finally {
    await user.docker(['rm', '-f', 'db']);
    await user.docker(['network', 'rm', 'appnet']);
  }
});

test('compose: a two-service stack, DNS by service name, a named volume, a published port from the host; down -v', { skip }, async () => {
  const port = await freePort();
  const dir = path.join(user.home, 'stack');
  // web serves what db wrote into the shared named volume; web reaches db by its service name
  const file = `services:
  db:
    image: busybox
    command: ["sh", "-c", "echo from-volume > /data/index.html; echo from-db > /tmp/db; exec httpd -f -p 8080 -h /tmp"]
    volumes: [data:/data]
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    ports: ["${port}:80"]
    volumes: [data:/www]
    depends_on: [db]
volumes:
  data: {}
networks:
  default:
    ipam:
      config:
        - subnet: 10.61.${200 + (process.pid % 50)}.0/24
`;
  assert.equal((await user.exec('sh', ['-c', `mkdir -p ${dir} && cat > ${dir}/compose.yaml`], { input: file })).code, 0);
  const compose = (args: string[]) => user.berth(['compose', '--project-directory', dir, ...args], { timeoutMs: 120_000 });
  const up = await compose(['up', '-d']);
  assert.equal(up.code, 0, up.stderr);
  try {
    const ps = await compose(['ps', '--format', '{{.Name}} {{.State}}']);
    assert.deepEqual(ps.stdout.trim().split('\n').sort(), ['stack-db-1 running', 'stack-web-1 running'], ps.stderr);
    let dns = await compose(['exec', '-T', 'web', 'wget', '-qO-', 'http://db:8080/db']);
    for (let i = 0; i < 50 && dns.stdout !== 'from-db\n'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      dns = await compose(['exec', '-T', 'web', 'wget', '-qO-', 'http://db:8080/db']);
    }
    assert.equal(dns.stdout, 'from-db\n', dns.stderr);
    let got: { status: number; body: string } | undefined;
    for (let i = 0; i < 50 && got?.body !== 'from-volume\n'; i++) {
      got = await httpGet(port, '/index.html').catch(() => undefined);
      if (got?.body !== 'from-volume\n') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got?.body, 'from-volume\n');
    assert.equal((await user.api('GET', '/volumes/stack_data')).body.Labels['com.docker.compose.volume'], 'data');
  } finally {
    const down = await compose(['down', '-v', '-t', '1']);
    assert.equal(down.code, 0, down.stderr);
  }
  assert.equal((await user.api('GET', '/volumes/stack_data')).status, 404);
  assert.equal((await user.api('GET', '/networks/stack_default')).status, 404);
  const left = (await user.api('GET', '/containers/json?all=1')).body as Array<{ Names: string[] }>;
  assert.ok(!left.some((c) => c.Names[0].startsWith('/stack-')), left.map((c) => c.Names[0]).join(' '));
  assert.equal(await freePortIsFree(port), true, 'the published port is released');
});

test('a privileged port, resource limits: refused with clear messages; --network host is the daemon\'s namespace', { skip }, async () => {
  const p = await user.docker(['run', '-d', '--name', 'low', '-p', '80:80', 'busybox', 'sleep', '30']);
  assert.equal(p.code, 125);
  assert.match(p.stderr, /cannot expose privileged port 80, you can add 'net\.ipv4\.ip_unprivileged_port_start=80' to \/etc\/sysctl\.conf \(currently \d+\)/);
  await user.docker(['rm', '-f', 'low']);
  const m = await user.docker(['run', '--rm', '--memory', '64m', 'busybox', 'true']);
  assert.equal(m.code, 125);
  assert.match(m.stderr, /resource limits are not available to rootless berth on this host: the host runs cgroup v1/);
  const h = await user.docker(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /tap0/, 'the namespace\'s own interfaces');
  assert.doesNotMatch(h.stdout, /\beth0\b.*state UP.*\n.*docker0/);
});

test('confinement: a root container cannot write a host path the user cannot; an escaped process is the user', { skip }, async () => {
  // --privileged maps to what the user namespace allows: all capabilities there, none on the host
  const w = await user.docker(['run', '--rm', '--privileged', '-v', '/:/host', '-v', `${hostDir}:/hostdir`, 'busybox', 'sh', '-c',
    'cat /proc/self/uid_map; echo changed > /hostdir/root-file; echo rc1=$?; touch /hostdir/new; echo rc2=$?; echo x >> /host/etc/passwd; echo rc3=$?; ' +
    'chroot /host /bin/sh -c "id -u; cat /proc/self/uid_map"']);
  assert.equal(w.code, 0, w.stderr);
  const lines = w.stdout.split('\n');
  assert.match(lines[0], new RegExp(`^\\s*0\\s+${user.uid}\\s+1$`), 'container root is the user on the host');
  assert.match(w.stdout, /rc1=1/);
  assert.match(w.stdout, /rc2=1/);
  assert.match(w.stdout, /rc3=1/);
  // in the host's file system (chroot /host) the process still sees the user namespace's map: it is the user
  assert.match(w.stdout, new RegExp(`\\n0\\n\\s*0\\s+${user.uid}\\s+1\\n`));
  assert.equal(readFileSync(path.join(hostDir, 'root-file'), 'utf8'), 'untouched\n');
  assert.ok(!existsSync(path.join(hostDir, 'new')));
  assert.doesNotMatch(readFileSync('/etc/passwd', 'utf8'), /^x$/m);
  // seen from the host, a container's processes run as the user (root inside) and its subordinate ids
  const c = await user.docker(['run', '-d', '--user', '1000', 'busybox', 'sleep', '60']);
  const pid = Number((await user.docker(['inspect', '-f', '{{.State.Pid}}', c.stdout.trim()])).stdout.trim());
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.match(status, new RegExp(`^Uid:\\s+${user.subuids.start + 999}\\s`, 'm'));
  assert.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split('\n')[0].trim().split(/\s+/).join(' '), `0 ${user.uid} 1`);
  await user.docker(['rm', '-f', c.stdout.trim()]);
});

test('the daemon\'s files are all owned by the user (or its subordinate ids, for image files)', { skip }, async () => {
  const sub = (id: number) => id >= user.subuids.start && id < user.subuids.start + user.subuids.count;
  const bad: string[] = [];
  let own = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = lstatSync(p);
      if (st.uid === user.uid) own++;
      else if (!sub(st.uid)) bad.push(`${p} uid ${st.uid}`);
      if (st.gid !== user.gid && !sub(st.gid)) bad.push(`${p} gid ${st.gid}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(user.dataRoot);
  walk(user.execRoot);
  assert.deepEqual(bad, []);
  assert.ok(own > 10);
  // the state the daemon writes itself is the user's own, and private
  for (const f of ['engine-id', 'berth.pid']) assert.equal(statSync(path.join(user.dataRoot, f)).uid, user.uid);
  assert.equal(statSync(user.dataRoot).mode & 0o077, 0);
});

test('a second rootless daemon for the same user is refused, and leaves nothing behind', { skip }, async () => {
  const before = new Set(user.processes());
  const second = await user.berth(['daemon', ...daemonArgs], { timeoutMs: 30_000 });
  assert.equal(second.code, 1);
  assert.match(second.stderr, /another berth daemon \(pid \d+\) is using the data root/);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(user.processes().filter((p) => !before.has(p)), [], 'no process of the second daemon is left');
  assert.ok(await user.ping(), 'the first daemon still answers');
});

test('stop: the daemon, its containers and the user-mode network are gone; the socket is removed', { skip }, async () => {
  const c = await user.docker(['run', '-d', 'busybox', 'sleep', '300']);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(await user.stopDaemon(), 0);
  for (let i = 0; i < 50 && user.processes().length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(user.processes(), []);
  assert.ok(!existsSync(user.socket));
  // and it starts again, finding its images
  await user.startDaemon(daemonArgs);
  const r = await user.docker(['run', '--rm', 'busybox', 'echo', 'again']);
  assert.equal(r.stdout, 'again\n');
});

test('bad input: no subordinate ids, no newuidmap: clear errors and nothing set up', { skip }, async () => {
  const bare = new RootlessUser(testUserName('n'), false);
  try {
    await bare.create();
    const r = await bare.berth(['daemon'], { timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`no subordinate uids for user ${bare.name} in /etc/subuid: .*berth rootless setup ${bare.name}`));
    assert.ok(!existsSync(bare.dataRoot), 'no data root made');
    assert.ok(!existsSync(bare.execRoot), 'no exec root made');
    // the user with subordinate ids, but no newuidmap on the search path
    const empty = await user.exec('mktemp', ['-d']);
    const r2 = await user.berth(['daemon', ...daemonArgs], { env: { BERTH_ROOTLESS_PATH: empty.stdout.trim() }, timeoutMs: 30_000 });
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /newuidmap not found: .*install the Debian package uidmap/);
  } finally {
    await bare.remove();
  }
});

