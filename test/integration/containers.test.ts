// Core lifecycle against a real daemon with real containers (root): create/start/stop/kill/rm, exit codes,
// stop semantics, logs, exec, pause, rename, top, bad input, and survival of a daemon SIGKILL.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'fs';
import { TestDaemon, waitFor, sleep } from '../helpers/daemon';

const d = new TestDaemon('core');

before(async () => {
  await d.start();
  await d.loadBusybox();
});
after(async () => { await d.stop(); });

async function create(body: Record<string, unknown>, name?: string): Promise<string> {
  const r = await d.api('POST', `/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.Id;
}
const inspect = async (id: string) => (await d.api('GET', `/containers/${id}/json`)).body;
const waitExit = async (id: string) => (await d.api('POST', `/containers/${id}/wait`)).body.StatusCode as number;

test('run a container to completion: exit code, logs in json-file format', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  assert.equal(await waitExit(id), 3);
  const info = await inspect(id);
  assert.equal(info.State.Status, 'exited');
  assert.equal(info.State.ExitCode, 3);
  const lines = readFileSync(info.LogPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.log, l.stream]).sort(), [['err\n', 'stderr'], ['out\n', 'stdout']]);
  for (const l of lines) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
});

test('the container sees Docker defaults: hostname, /etc files, capabilities, masked paths, seccomp', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'hostname; cat /etc/hostname; grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; cat /proc/kcore | wc -c; echo x > /proc/sys/kernel/domainname || echo rofs'] });
  await d.api('POST', `/containers/${id}/start`);
  assert.equal(await waitExit(id), 0);
  const r = await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
  const text = String(r.body).replace(/[\x00-\x08]/g, '');
  assert.ok(text.includes(id.slice(0, 12)), text);
  assert.ok(text.includes('CapEff:\t00000000a80425fb'), text); // Docker's 14 default capabilities
  assert.ok(/Seccomp:\s+2/.test(text), text);
  assert.ok(text.includes('rofs'), text);
});

test('env, workdir, user by name, entrypoint and cmd merge like docker', async () => {
  const id = await create({ Entrypoint: ['sh', '-c'], Cmd: ['echo "$FOO:$(pwd):$(id -u):$HOME"'], Env: ['FOO=bar'], WorkingDir: '/srv/app', User: 'nobody' });
  await d.api('POST', `/containers/${id}/start`);
  assert.equal(await waitExit(id), 0);
  const info = await inspect(id);
  const log = readFileSync(info.LogPath, 'utf8');
  assert.ok(log.includes('bar:/srv/app:65534:'), log);
  assert.equal(info.Path, 'sh');
  assert.deepEqual(info.Args, ['-c', 'echo "$FOO:$(pwd):$(id -u):$HOME"']);
});

test('stop: a container that traps SIGTERM exits at once; one that ignores it dies after -t', async () => {
  const trap = await create({ Cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'] });
  const ignore = await create({ Cmd: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'] });
  await d.api('POST', `/containers/${trap}/start`);
  await d.api('POST', `/containers/${ignore}/start`);
  await sleep(200);
  let t0 = Date.now();
  assert.equal((await d.api('POST', `/containers/${trap}/stop?t=10`)).status, 204);
  assert.ok(Date.now() - t0 < 3000, `trapping container took ${Date.now() - t0} ms`);
  assert.equal((await inspect(trap)).State.ExitCode, 0);
  t0 = Date.now();
  await d.api('POST', `/containers/${ignore}/stop?t=2`);
  const took = Date.now() - t0;
  assert.ok(took >= 1900 && took < 6000, `ignoring container took ${took} ms`);
  assert.equal((await inspect(ignore)).State.ExitCode, 137);
  // stopping a stopped container: 304
  assert.equal((await d.api('POST', `/containers/${ignore}/stop`)).status, 304);
});

test('kill -s, pause/unpause, restart, rename, top', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'trap "echo got-usr1" USR1; while true; do sleep 0.1; done'] }, 'lifecycle1');
  await d.api('POST', `/containers/lifecycle1/start`);
  assert.equal((await d.api('POST', `/containers/lifecycle1/start`)).status, 304);
  await sleep(200);
  assert.equal((await d.api('POST', `/containers/lifecycle1/kill?signal=USR1`)).status, 204);
  await waitFor(async () => readFileSync((await inspect(id)).LogPath, 'utf8').includes('got-usr1'), 5000, 'USR1 handled');

  assert.equal((await d.api('POST', `/containers/${id}/pause`)).status, 204);
  assert.equal((await inspect(id)).State.Status, 'paused');
  const freezer = readFileSync(`/sys/fs/cgroup/freezer/berth/${id}/freezer.state`, 'utf8').trim();
  assert.equal(freezer, 'FROZEN');
  assert.equal((await d.api('POST', `/containers/${id}/unpause`)).status, 204);
  assert.equal((await inspect(id)).State.Status, 'running');

  const top = (await d.api('GET', `/containers/${id}/top`)).body;
  assert.ok(top.Titles.includes('PID'));
  assert.ok(top.Processes.some((p: string[]) => p.join(' ').includes('sh -c')), JSON.stringify(top));

  const pid1 = (await inspect(id)).State.Pid;
  assert.equal((await d.api('POST', `/containers/${id}/restart?t=1`)).status, 204);
  const after = await inspect(id);
  assert.equal(after.State.Status, 'running');
  assert.notEqual(after.State.Pid, pid1);

  assert.equal((await d.api('POST', `/containers/${id}/rename?name=lifecycle2`)).status, 204);
  assert.equal((await inspect('lifecycle2')).Name, '/lifecycle2');
  assert.equal((await d.api('GET', '/containers/lifecycle1/json')).status, 404);

  assert.equal((await d.api('DELETE', `/containers/${id}`)).status, 409);
  assert.equal((await d.api('DELETE', `/containers/${id}?force=1`)).status, 204);
  assert.equal((await d.api('GET', `/containers/${id}/json`)).status, 404);
  assert.ok(!existsSync(`/sys/fs/cgroup/pids/berth/${id}`), 'cgroup removed');
});

test('bad input gets docker errors and statuses', async () => {
  let r = await d.api('POST', '/containers/create', { Image: 'nosuchimage' });
  assert.equal(r.status, 404);
  assert.match(r.body.message, /No such image: nosuchimage/);
  r = await d.api('GET', '/containers/doesnotexist/json');
  assert.equal(r.status, 404);
  assert.equal(r.body.message, 'No such container: doesnotexist');
  await create({ Cmd: ['true'] }, 'dup');
  r = await d.api('POST', '/containers/create?name=dup', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(r.status, 409);
  assert.match(r.body.message, /^Conflict\. The container name "\/dup" is already in use by container "[0-9a-f]{64}"\. You have to remove \(or rename\) that container to be able to reuse that name\.$/);
  r = await new Promise((resolve, reject) => {
    const http = require('http') as typeof import('http');
    const req = http.request({ socketPath: d.socket, method: 'POST', path: '/containers/create', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = ''; res.on('data', (c) => { text += c; }); res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), headers: res.headers }));
    });
    req.on('error', reject);
    req.end('{"Image": busybox');
  });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /invalid JSON/);
  r = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['nosuchbinary'] });
  const bad = r.body.Id;
  r = await d.api('POST', `/containers/${bad}/start`);
  assert.equal(r.status, 400);
  assert.match(r.body.message, /executable file not found/);
  assert.equal((await inspect(bad)).State.Status, 'created');
  // nothing left behind by the failed start
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(bad), 'no rootfs mount left');
  // ambiguous prefix: create until two ids share a first hex digit
  const ids: string[] = [];
  for (let i = 0; i < 17; i++) ids.push(await create({ Cmd: ['true'] }));
  const seen = new Map<string, number>();
  for (const id of ids) seen.set(id[0], (seen.get(id[0]) ?? 0) + 1);
  const prefix = [...seen.entries()].find(([, n]) => n > 1)![0];
  const all = (await d.api('GET', '/containers/json?all=1')).body as Array<{ Id: string }>;
  if (all.filter((c) => c.Id.startsWith(prefix)).length > 1) {
    r = await d.api('GET', `/containers/${prefix}/json`);
    assert.equal(r.status, 400);
    assert.match(r.body.message, /multiple IDs found with provided prefix/);
  }
  for (const id of ids) await d.api('DELETE', `/containers/${id}`);
  // a working directory: relative is refused at create (400), a file in the image at start (500), in dockerd's words
  r = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], WorkingDir: 'relative' });
  assert.deepEqual([r.status, r.body.message], [400, "the working directory 'relative' is invalid, it needs to be an absolute path"]);
  for (const wd of ['/etc/passwd', '/etc/passwd/sub']) {
    const onFile = await create({ Cmd: ['true'], WorkingDir: wd });
    r = await d.api('POST', `/containers/${onFile}/start`);
    assert.deepEqual([r.status, r.body.message], [500, `Cannot mkdir: ${wd} is not a directory`]);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(onFile), 'no rootfs mount left');
    await d.api('DELETE', `/containers/${onFile}`);
  }
});

test('exec: output, exit code, env; exec in a stopped container is refused', async () => {
  const id = await create({ Cmd: ['sleep', '300'] });
  await d.api('POST', `/containers/${id}/start`);
  const ex = await d.api('POST', `/containers/${id}/exec`, { Cmd: ['sh', '-c', 'echo $GREETING; exit 7'], Env: ['GREETING=hello'], AttachStdout: true, AttachStderr: true });
  assert.equal(ex.status, 201);
  const started = await d.api('POST', `/exec/${ex.body.Id}/start`, { Detach: false, Tty: false });
  assert.equal(started.status, 200);
  const out = String(started.body);
  assert.ok(out.includes('hello'), JSON.stringify(out));
  const exInfo = (await d.api('GET', `/exec/${ex.body.Id}/json`)).body;
  assert.equal(exInfo.ExitCode, 7);
  assert.equal(exInfo.Running, false);
  await d.api('POST', `/containers/${id}/kill`);
  const r = await d.api('POST', `/containers/${id}/exec`, { Cmd: ['true'] });
  assert.equal(r.status, 409);
  await d.api('DELETE', `/containers/${id}`);
});

test('logs: tail, timestamps, since/until, follow until exit', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo late'] });
  await d.api('POST', `/containers/${id}/start`);
  const follow = await d.api('GET', `/containers/${id}/logs?stdout=1&follow=1`);
  const text = String(follow.body);
  for (const l of ['line1', 'line5', 'late']) assert.ok(text.includes(l), text);
  const tail = String((await d.api('GET', `/containers/${id}/logs?stdout=1&tail=2`)).body);
  assert.ok(!tail.includes('line4') && tail.includes('line5') && tail.includes('late'), tail);
  const ts = String((await d.api('GET', `/containers/${id}/logs?stdout=1&timestamps=1&tail=1`)).body);
  assert.match(ts, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z late/);
  const future = Math.floor(Date.now() / 1000) + 3600;
  assert.equal(String((await d.api('GET', `/containers/${id}/logs?stdout=1&since=${future}`)).body ?? ''), '');
  await d.api('DELETE', `/containers/${id}`);
});

test('list filters: status, name, label, ancestor, id', async () => {
  const a = await create({ Cmd: ['sleep', '300'], Labels: { tier: 'web' } }, 'filt-a');
  const b = await create({ Cmd: ['true'], Labels: { tier: 'db' } }, 'filt-b');
  await d.api('POST', `/containers/${a}/start`);
  const q = async (f: object) => ((await d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify(f))}`)).body as Array<{ Id: string }>).map((c) => c.Id);
  assert.deepEqual(await q({ status: ['running'], name: ['filt-'] }), [a]);
  assert.deepEqual(await q({ label: ['tier=db'] }), [b]);
  assert.deepEqual((await q({ ancestor: ['busybox'], name: ['filt-'] })).sort(), [a, b].sort());
  assert.deepEqual(await q({ id: [b.slice(0, 10)] }), [b]);
  const running = (await d.api('GET', '/containers/json')).body as Array<{ Id: string; Status: string; State: string }>;
  const item = running.find((c) => c.Id === a)!;
  assert.equal(item.State, 'running');
  assert.match(item.Status, /^Up /);
  await d.api('DELETE', `/containers/${a}?force=1`);
  await d.api('DELETE', `/containers/${b}`);
});

test('containers survive a daemon SIGKILL and stay controllable; exits meanwhile are recorded', async () => {
  const keep = await create({ Cmd: ['sh', '-c', 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done'] });
  const quit = await create({ Cmd: ['sh', '-c', 'sleep 1; exit 42'] });
  await d.api('POST', `/containers/${keep}/start`);
  await d.api('POST', `/containers/${quit}/start`);
  const pid = (await inspect(keep)).State.Pid;
  await d.kill();
  await sleep(1800); // `quit` exits while no daemon runs; `keep` goes on logging
  process.kill(pid, 0); // still alive
  await d.start();
  const k = await inspect(keep);
  assert.equal(k.State.Status, 'running');
  assert.equal(k.State.Pid, pid);
  const q = await inspect(quit);
  assert.equal(q.State.Status, 'exited');
  assert.equal(q.State.ExitCode, 42);
  // fully controllable: exec, logs (nothing lost: ticks are consecutive), stop
  const ex = await d.api('POST', `/containers/${keep}/exec`, { Cmd: ['echo', 'still-here'], AttachStdout: true });
  assert.ok(String((await d.api('POST', `/exec/${ex.body.Id}/start`, { Detach: false })).body).includes('still-here'));
  const logs = readFileSync(k.LogPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).log.trim());
  logs.forEach((l, i) => assert.equal(l, `tick${i}`));
  assert.ok(logs.length >= 8, `only ${logs.length} log lines`);
  assert.equal((await d.api('POST', `/containers/${keep}/stop?t=1`)).status, 204);
  assert.equal((await inspect(keep)).State.Status, 'exited');
  await d.api('DELETE', `/containers/${keep}`);
  await d.api('DELETE', `/containers/${quit}`);
});

test('a second daemon on the same data root is refused', async () => {
  const { runCmd, BERTH } = await import('../helpers/daemon');
  const r = await runCmd(BERTH, ['daemon', '--data-root', d.dataRoot, '--exec-root', d.execRoot + '-2', '-H', `unix://${d.execRoot}-2.sock`], { timeoutMs: 20_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /another berth daemon \(pid \d+\) is using the data root/);
});

test('AutoRemove removes the container after it exits; wait condition=removed', async () => {
  const id = await create({ Cmd: ['true'], HostConfig: { AutoRemove: true } });
  const waiting = d.api('POST', `/containers/${id}/wait?condition=removed`);
  await sleep(50);
  await d.api('POST', `/containers/${id}/start`);
  assert.equal((await waiting).body.StatusCode, 0);
  assert.equal((await d.api('GET', `/containers/${id}/json`)).status, 404);
});

test('API version negotiation: _ping header, too new and too old versions', async () => {
  const ping = await d.api('GET', '/_ping');
  assert.equal(ping.body, 'OK');
  assert.ok(ping.headers['api-version']);
  assert.equal((await d.api('GET', '/v1.99/version')).status, 400);
  assert.equal((await d.api('GET', '/v1.12/version')).status, 400);
  const v = (await d.api('GET', '/v1.43/version')).body;
  assert.ok(Number(v.ApiVersion) >= 1.43);
});

test('seccomp is precompiled once for crun; --privileged gets the daemon\'s capabilities and no seccomp; --cap-add/--cap-drop', async () => {
  const id = await create({ Cmd: ['sleep', '30'] });
  await d.api('POST', `/containers/${id}/start`);
  const spec = JSON.parse(readFileSync(`${d.execRoot}/containers/${id}/config.json`, 'utf8'));
  assert.ok(spec.annotations['run.oci.seccomp_bpf_data'].length > 100, 'BPF annotation present');
  assert.equal(spec.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO'); // kept for runtimes that compile it themselves
  await d.api('DELETE', `/containers/${id}?force=1`);
  const logsOf = async (body: Record<string, unknown>) => {
    const c = await create(body);
    await d.api('POST', `/containers/${c}/start`);
    await waitExit(c);
    const text = readFileSync((await inspect(c)).LogPath, 'utf8');
    await d.api('DELETE', `/containers/${c}`);
    return text;
  };
  const priv = await logsOf({ Cmd: ['sh', '-c', 'grep -E "Seccomp:|CapEff:" /proc/self/status'], HostConfig: { Privileged: true } });
  assert.match(priv, /Seccomp:\\t0/);
  assert.doesNotMatch(priv, /CapEff:\\t00000000a80425fb/);
  const dropped = await logsOf({ Cmd: ['sh', '-c', 'chown nobody /tmp && echo chowned || echo no-chown'], HostConfig: { CapDrop: ['CHOWN'] } });
  assert.match(dropped, /no-chown/);
  const added = await logsOf({ Cmd: ['sh', '-c', 'grep CapEff: /proc/self/status'], HostConfig: { CapAdd: ['NET_ADMIN'] } });
  assert.match(added, /CapEff:\\t00000000a80435fb/); // the defaults plus bit 12
});

test('seccomp as Docker\'s: no new user namespace, setns or keyrings without CAP_SYS_ADMIN, in run and exec alike', async () => {
  const logsOf = async (body: Record<string, unknown>) => {
    const c = await create(body);
    await d.api('POST', `/containers/${c}/start`);
    const code = await waitExit(c);
    const text = readFileSync((await inspect(c)).LogPath, 'utf8');
    await d.api('DELETE', `/containers/${c}`);
    return { code, text };
  };
  // busybox's unshare calls unshare(2); Docker's profile refuses it (EPERM) unless the container holds CAP_SYS_ADMIN
  const plain = await logsOf({ Cmd: ['unshare', '-U', 'true'] });
  assert.equal(plain.code, 1, plain.text);
  assert.match(plain.text, /Operation not permitted/);
  const admin = await logsOf({ Cmd: ['unshare', '-U', 'true'], HostConfig: { CapAdd: ['SYS_ADMIN'] } });
  assert.equal(admin.code, 0, admin.text);
  const privileged = await logsOf({ Cmd: ['unshare', '-U', 'true'], HostConfig: { Privileged: true } });
  assert.equal(privileged.code, 0, privileged.text);
  // an exec runs under the container's filter
  const id = await create({ Cmd: ['sleep', '30'] });
  await d.api('POST', `/containers/${id}/start`);
  try {
    const ex = await d.docker(['exec', id, 'unshare', '-U', 'true']);
    assert.equal(ex.code, 1, ex.stdout + ex.stderr);
    assert.match(ex.stderr, /Operation not permitted/);
    const ok = await d.docker(['exec', id, 'sh', '-c', 'echo fine']);
    assert.equal(ok.stdout.trim(), 'fine');
  } finally {
    await d.api('DELETE', `/containers/${id}?force=1`);
  }
});

test('--security-opt: seccomp=unconfined, a profile of its own, no-new-privileges (run and exec); unknown options refused', async () => {
  const run = async (securityOpt: string[], cmd: string[]) => {
    const c = await create({ Cmd: cmd, HostConfig: { SecurityOpt: securityOpt } });
    await d.api('POST', `/containers/${c}/start`);
    const code = await waitExit(c);
    const text = readFileSync((await inspect(c)).LogPath, 'utf8');
    await d.api('DELETE', `/containers/${c}`);
    return { code, text };
  };
  const unconfined = await run(['seccomp=unconfined'], ['sh', '-c', 'grep Seccomp: /proc/self/status; unshare -U true && echo unshared']);
  assert.match(unconfined.text, /Seccomp:\\t0/);
  assert.match(unconfined.text, /unshared/);
  // what `docker run --security-opt seccomp=profile.json` sends: the file's JSON
  const own = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] });
  const custom = await run([`seccomp=${own}`], ['sh', '-c', 'mkdir /tmp/x || echo refused; unshare -U true && echo unshared']);
  assert.match(custom.text, /Operation not permitted/);
  assert.match(custom.text, /refused/);
  assert.match(custom.text, /unshared/); // the profile's own rules, not Docker's
  const nnp = await run(['no-new-privileges'], ['grep', 'NoNewPrivs:', '/proc/self/status']);
  assert.match(nnp.text, /NoNewPrivs:\\t1/);
  const plain = await run([], ['grep', 'NoNewPrivs:', '/proc/self/status']);
  assert.match(plain.text, /NoNewPrivs:\\t0/);
  const id = await create({ Cmd: ['sleep', '30'], HostConfig: { SecurityOpt: ['no-new-privileges=true', 'apparmor=unconfined', 'label=disable'] } });
  await d.api('POST', `/containers/${id}/start`);
  try {
    const ex = await d.docker(['exec', id, 'grep', 'NoNewPrivs:', '/proc/self/status']);
    assert.match(ex.stdout, /NoNewPrivs:\t1/);
  } finally {
    await d.api('DELETE', `/containers/${id}?force=1`);
  }
  for (const [opt, text] of [['bogus', 'invalid --security-opt 1: "bogus"'], ['bogus=1', 'invalid --security-opt 2: "bogus=1"'], ['no-new-privileges=maybe', 'invalid --security-opt 2: "no-new-privileges=maybe"']]) {
    const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { SecurityOpt: [opt] } });
    assert.equal(r.status, 400, opt);
    assert.equal(r.body.message, text);
  }
});

test('masked and read-only paths: Docker\'s lists in the record (inspect), the container\'s own when given (systempaths=unconfined)', async () => {
  const probe = ['sh', '-c', 'echo masked=$(wc -c < /proc/timer_list); echo x > /proc/sys/kernel/domainname && echo sys-writable || echo sys-readonly'];
  const runOf = async (hostConfig: Record<string, unknown>) => {
    const c = await create({ Cmd: probe, HostConfig: hostConfig });
    const info = await inspect(c);
    await d.api('POST', `/containers/${c}/start`);
    await waitExit(c);
    const text = readFileSync(info.LogPath, 'utf8');
    await d.api('DELETE', `/containers/${c}`);
    return { hc: info.HostConfig, text };
  };
  const plain = await runOf({});
  assert.ok(plain.hc.MaskedPaths.includes('/proc/timer_list') && plain.hc.MaskedPaths.includes('/proc/kcore'), JSON.stringify(plain.hc.MaskedPaths));
  assert.deepEqual(plain.hc.ReadonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  assert.match(plain.text, /masked=0/);
  assert.match(plain.text, /sys-readonly/);
  // what `docker run --security-opt systempaths=unconfined` sends
  const open = await runOf({ MaskedPaths: [], ReadonlyPaths: [] });
  assert.deepEqual([open.hc.MaskedPaths, open.hc.ReadonlyPaths], [[], []]);
  assert.doesNotMatch(open.text, /masked=0/);
  assert.match(open.text, /sys-writable/); // (the domain name is the container's own UTS namespace's)
  const priv = await runOf({ Privileged: true });
  assert.deepEqual([priv.hc.MaskedPaths, priv.hc.ReadonlyPaths], [null, null]);
  assert.doesNotMatch(priv.text, /masked=0/);
});

test('--pid, --uts, --ipc host or shared, --device, --device-cgroup-rule, --oom-score-adj reach the container; bad modes refused', async () => {
  const { readlinkSync } = await import('fs');
  const { hostname } = await import('os');
  const run = async (hostConfig: Record<string, unknown>, cmd: string) => {
    const c = await create({ Cmd: ['sh', '-c', cmd], HostConfig: { NetworkMode: 'none', ...hostConfig } });
    const st = await d.api('POST', `/containers/${c}/start`);
    assert.equal(st.status, 204, JSON.stringify(st.body));
    const code = await waitExit(c);
    const r = await d.api('GET', `/containers/${c}/logs?stdout=1&stderr=1`);
    await d.api('DELETE', `/containers/${c}`);
    return { code, text: String(r.body).replace(/[\x00-\x08]/g, '') };
  };
  const ns = 'for n in pid uts ipc; do readlink /proc/self/ns/$n; done; hostname; [ -e /dev/shm ] && echo shm || echo no-shm';
  const own = await run({}, ns);
  for (const n of ['pid', 'uts', 'ipc']) assert.ok(!own.text.includes(readlinkSync(`/proc/self/ns/${n}`)), own.text);
  const host = await run({ PidMode: 'host', UTSMode: 'host', IpcMode: 'host' }, ns);
  for (const n of ['pid', 'uts', 'ipc']) assert.ok(host.text.includes(readlinkSync(`/proc/self/ns/${n}`)), host.text);
  assert.ok(host.text.includes(`${hostname()}\n`), host.text);
  const none = await run({ IpcMode: 'none' }, ns);
  assert.match(none.text, /no-shm/);
  // --pid container:<sleeper> joins its pid namespace
  const sleeper = await create({ Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none' } });
  try {
    const c = await create({ Cmd: ['true'], HostConfig: { NetworkMode: 'none', PidMode: `container:${sleeper}` } });
    const st = await d.api('POST', `/containers/${c}/start`); // the sleeper is not running yet
    assert.equal(st.status, 409);
    assert.equal(st.body.message, `failed to join PID namespace: container ${sleeper} is not running`);
    await d.api('DELETE', `/containers/${c}`);
    await d.api('POST', `/containers/${sleeper}/start`);
    const pid = (await inspect(sleeper)).State.Pid;
    const shared = await run({ PidMode: `container:${sleeper.slice(0, 12)}` }, 'readlink /proc/self/ns/pid; ps');
    assert.ok(shared.text.includes(readlinkSync(`/proc/${pid}/ns/pid`)), shared.text);
    assert.match(shared.text, /sleep 30/);
  } finally {
    await d.api('DELETE', `/containers/${sleeper}?force=1`);
  }
  // a device of the host under a name of its own, and a cgroup rule
  const dev = await run({ Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rwm' }] },
    'ls -l /dev/mynull; echo x > /dev/mynull && echo written');
  assert.match(dev.text, /c[rwx-]{9} .* 1,\s+3 .*\/dev\/mynull/);
  assert.match(dev.text, /written/);
  const ruled = await create({ Cmd: ['sleep', '30'], HostConfig: { NetworkMode: 'none', DeviceCgroupRules: ['c 10:237 rw'] } });
  try {
    await d.api('POST', `/containers/${ruled}/start`);
    const config = JSON.parse(readFileSync(`${d.execRoot}/containers/${ruled}/config.json`, 'utf8'));
    assert.ok(config.linux.resources.devices.some((x: { major?: number; minor?: number; access: string; allow: boolean }) => x.major === 10 && x.minor === 237 && x.access === 'rw' && x.allow));
  } finally {
    await d.api('DELETE', `/containers/${ruled}?force=1`);
  }
  const oom = await run({ OomScoreAdj: 500 }, 'cat /proc/self/oom_score_adj');
  assert.match(oom.text, /(^|[^0-9])500\n/);
  // what dockerd refuses
  for (const [hc, text] of [
    [{ PidMode: 'bogus' }, 'invalid PID mode: bogus'], [{ UTSMode: 'bogus' }, 'invalid UTS mode: bogus'], [{ IpcMode: 'bogus' }, 'invalid IPC mode: bogus'],
    [{ DeviceCgroupRules: ['x 1:2 r'] }, "invalid device cgroup rule format: 'x 1:2 r'"],
  ] as Array<[Record<string, unknown>, string]>) {
    const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: hc });
    assert.equal(r.status, 400, JSON.stringify(hc));
    assert.equal(r.body.message, text);
  }
  const missing = await create({ Cmd: ['true'], HostConfig: { NetworkMode: 'none', Devices: [{ PathOnHost: '/dev/nope', PathInContainer: '/dev/nope', CgroupPermissions: 'rwm' }] } });
  const st = await d.api('POST', `/containers/${missing}/start`);
  assert.equal(st.status, 400);
  assert.equal(st.body.message, 'error gathering device information while adding custom device "/dev/nope": no such file or directory');
  await d.api('DELETE', `/containers/${missing}`);
});

test('--cgroupns, annotations; what berth cannot honour is refused as dockerd refuses it: --gpus, --isolation, --storage-opt', async () => {
  const { readlinkSync } = await import('fs');
  const own = await create({ Cmd: ['sh', '-c', 'readlink /proc/self/ns/cgroup; sleep 30'], HostConfig: { NetworkMode: 'none', CgroupnsMode: 'private', Annotations: { 'org.example.note': 'kept' } } });
  try {
    await d.api('POST', `/containers/${own}/start`);
    const info = await inspect(own);
    assert.equal(info.HostConfig.CgroupnsMode, 'private');
    const config = JSON.parse(readFileSync(`${d.execRoot}/containers/${own}/config.json`, 'utf8'));
    assert.equal(config.annotations['org.example.note'], 'kept');
    assert.ok(config.annotations['run.oci.seccomp_bpf_data'], 'the precompiled filter is still handed over');
    assert.notEqual(readlinkSync(`/proc/${info.State.Pid}/ns/cgroup`), readlinkSync('/proc/self/ns/cgroup'));
  } finally {
    await d.api('DELETE', `/containers/${own}?force=1`);
  }
  // the default: dockerd's, private on a pure cgroup v2 host, else the host's
  const { cgroupLayout } = await import('../../src/runtime/cgroups');
  const layout = cgroupLayout();
  const plain = await create({ Cmd: ['true'], HostConfig: { NetworkMode: 'none' } });
  assert.equal((await inspect(plain)).HostConfig.CgroupnsMode, layout.unified && !Object.keys(layout.v1).length ? 'private' : 'host');
  await d.api('DELETE', `/containers/${plain}`);
  for (const [hc, text] of [
    [{ CgroupnsMode: 'bogus' }, 'invalid cgroup namespace mode: bogus'],
    [{ Isolation: 'hyperv' }, "invalid isolation (hyperv): linux only supports 'default'"],
    [{ StorageOpt: { size: '1G' } }, "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"],
  ] as Array<[Record<string, unknown>, string]>) {
    const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: hc });
    assert.equal(r.status, 400, JSON.stringify(hc));
    assert.equal(r.body.message, text);
  }
  // what `docker run --gpus all` sends: created, then refused at start (nothing was set up)
  const gpu = await create({ Cmd: ['true'], HostConfig: { NetworkMode: 'none', DeviceRequests: [{ Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: {} }] } });
  const st = await d.api('POST', `/containers/${gpu}/start`);
  assert.equal(st.status, 400);
  assert.equal(st.body.message, 'could not select device driver "" with capabilities: [[gpu]]');
  assert.equal((await inspect(gpu)).State.Status, 'created');
  await d.api('DELETE', `/containers/${gpu}`);
  // and `docker run --rm --gpus all` ends (the refused --rm container is removed, as dockerd does)
  const run = await d.docker(['run', '--rm', '--network', 'none', '--gpus', 'all', 'busybox', 'true'], { timeoutMs: 20_000 });
  assert.equal(run.code, 125, run.stderr);
  assert.match(run.stderr, /could not select device driver "" with capabilities: \[\[gpu\]\]/);
});

test('a stopped container still starts after rmi -f of its image', async () => {
  await d.loadBusybox('doomed:1'); // an image of its own (one tag), sharing busybox's layer
  const id = await create({ Image: 'doomed:1', Cmd: ['echo', 'from-kept-layers'] });
  const rmi = await d.api('DELETE', '/images/doomed:1');
  assert.equal(rmi.status, 409, JSON.stringify(rmi.body)); // a container uses it: docker wants -f
  const forced = await d.api('DELETE', '/images/doomed:1?force=1');
  assert.equal(forced.status, 200);
  assert.ok(forced.body.some((e: { Deleted?: string }) => e.Deleted), JSON.stringify(forced.body));
  assert.equal((await d.api('GET', '/images/doomed:1/json')).status, 404);
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  assert.equal(await waitExit(id), 0);
  assert.match(readFileSync((await inspect(id)).LogPath, 'utf8'), /from-kept-layers/);
  await d.api('DELETE', `/containers/${id}`);
});

test('nothing leaks over 20 run/rm cycles: mounts, cgroups, namespaces, shims, runtime state', async () => {
  const { readdirSync } = await import('fs');
  // Only this daemon's: other daemons on the machine (a developer's, another checkout's tests) have cgroups too.
  const ours = new Set<string>();
  const count = () => ({
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(d.dir)).length,
    cgroups: readdirSync('/sys/fs/cgroup/pids/berth').filter((n) => ours.has(n)).length,
    shims: readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(d.execRoot); } catch { return false; }
    }).length,
    runtimeState: existsSync(`${d.execRoot}/runtime-crun`) ? readdirSync(`${d.execRoot}/runtime-crun`).length : 0,
  });
  // The baseline waits until the earlier tests' containers have settled (an exit's release unmounts a moment after
  // the exit is reported): counted mid-release, a mount that then went away showed as "one fewer than before".
  let before = count();
  for (let stable = 0, until = Date.now() + 15_000; stable < 3 && Date.now() < until;) {
    await sleep(300);
    const now = count();
    stable = JSON.stringify(now) === JSON.stringify(before) ? stable + 1 : 0;
    before = now;
  }
  for (let i = 0; i < 20; i++) {
    const id = await create({ Cmd: ['true'], HostConfig: { AutoRemove: true, NetworkMode: i % 2 ? 'none' : 'bridge' } });
    ours.add(id);
    const waiting = d.api('POST', `/containers/${id}/wait?condition=removed`);
    await d.api('POST', `/containers/${id}/start`);
    assert.equal((await waiting).body.StatusCode, 0);
  }
  // a shim reports the exit a moment before its process is gone: what is still going away gets a few seconds
  for (const until = Date.now() + 10_000; JSON.stringify(count()) !== JSON.stringify(before) && Date.now() < until;) await sleep(200);
  assert.deepEqual(count(), before);
});

test('a start cut short by a daemon crash is rolled back at the next daemon start', async () => {
  const { writeFileSync } = await import('fs');
  const id = await create({ Cmd: ['sleep', '300'] });
  await d.api('POST', `/containers/${id}/start`);
  const pid = (await inspect(id)).State.Pid;
  await d.kill();
  // The crash came after the process started but before the record said so.
  const file = `${d.dataRoot}/containers/${id}/config.v2.json`;
  const rec = JSON.parse(readFileSync(file, 'utf8'));
  rec.State = { ...rec.State, Status: 'created', Pid: 0 };
  writeFileSync(file, JSON.stringify(rec));
  await d.start();
  const info = await inspect(id);
  assert.equal(info.State.Status, 'created');
  await waitFor(async () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 5000, 'the orphan process to be gone');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(`${id}/merged`), 'rootfs unmounted');
  // and it starts normally afterwards
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  await d.api('DELETE', `/containers/${id}?force=1`);
});

test('restart policy on-failure:3 restarts exactly three times; always comes back after a daemon restart', async () => {
  const id = await create({ Cmd: ['sh', '-c', 'exit 1'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } });
  await d.api('POST', `/containers/${id}/start`);
  await waitFor(async () => (await inspect(id)).RestartCount === 3, 15_000, 'three restarts');
  await sleep(3000); // the back-off would have allowed a fourth by now
  const info = await inspect(id);
  assert.equal(info.RestartCount, 3);
  assert.equal(info.State.Status, 'exited');
  assert.equal(info.State.ExitCode, 1);
  await d.api('DELETE', `/containers/${id}`);

  const always = await create({ Cmd: ['sh', '-c', 'sleep 1; exit 0'], HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } });
  await d.api('POST', `/containers/${always}/start`);
  await d.kill();
  await sleep(1500); // it exits while no daemon runs
  await d.start();
  await waitFor(async () => (await inspect(always)).RestartCount >= 1, 10_000, 'a restart after the daemon came back');
  // 204 while it runs, 304 between two runs (the stop then cancels the pending restart)
  assert.ok([204, 304].includes((await d.api('POST', `/containers/${always}/stop?t=1`)).status));
  await sleep(3000);
  assert.equal((await inspect(always)).State.Status, 'exited'); // a stop by the user is not undone
  await d.api('DELETE', `/containers/${always}?force=1`);
});

test('--init runs tini as PID 1: it forwards SIGTERM, so stop is immediate', async () => {
  const id = await create({ Cmd: ['sleep', '300'], HostConfig: { Init: true } });
  await d.api('POST', `/containers/${id}/start`);
  const ex = await d.api('POST', `/containers/${id}/exec`, { Cmd: ['ps', '-o', 'pid,comm'], AttachStdout: true });
  const ps = String((await d.api('POST', `/exec/${ex.body.Id}/start`, { Detach: false })).body);
  assert.match(ps, /\b1 docker-init/);
  const t0 = Date.now();
  assert.equal((await d.api('POST', `/containers/${id}/stop?t=10`)).status, 204);
  assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
  assert.equal((await inspect(id)).State.ExitCode, 143);
  await d.api('DELETE', `/containers/${id}`);
});
