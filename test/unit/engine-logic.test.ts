// Unit tests for the engine's pure logic: config merging, detach keys, stdcopy relay, signals,
// status texts, the OCI spec's Docker defaults and the seccomp profile resolution.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mergeConfig, mergeEnv, validateBody, commandLine } from '../../src/engine/containers/create';
import { DetachFilter, parseDetachKeys, FrameRelay, frame, relay } from '../../src/engine/containers/attach';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { parseSignal } from '../../src/engine/containers/signals';
import { humanDuration, statusText } from '../../src/engine/containers/views';
import { buildSpec, resolveCapabilities, DEFAULT_CAPABILITIES, MASKED_PATHS, defaultMaskedPaths, parseDeviceCgroupRule } from '../../src/runtime/spec';
import { parseCpuList } from '../../src/runtime/cgroups';
import { seccompFor } from '../../src/runtime/seccomp';
import { entrySeconds } from '../../src/engine/containers/logfile';
import { checkName } from '../../src/engine/containers/store';
import type { ContainerRecord } from '../../src/engine/containers/types';

const image = { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Entrypoint: null, WorkingDir: '/w', User: 'daemon', Labels: { a: 'img' } };

test('entrypoint/cmd merge like docker', () => {
  assert.deepEqual(commandLine(mergeConfig({}, image, 'busybox')), ['sh']);
  assert.deepEqual(commandLine(mergeConfig({ Cmd: ['echo', 'x'] }, image, 'busybox')), ['echo', 'x']);
  // --entrypoint without a command drops the image's CMD
  assert.deepEqual(commandLine(mergeConfig({ Entrypoint: ['top'] }, image, 'busybox')), ['top']);
  assert.deepEqual(commandLine(mergeConfig({ Entrypoint: ['top'], Cmd: ['-b'] }, image, 'busybox')), ['top', '-b']);
  const withEp = { ...image, Entrypoint: ['/entry.sh'] };
  assert.deepEqual(commandLine(mergeConfig({ Cmd: ['run'] }, withEp, 'x')), ['/entry.sh', 'run']);
  // an empty entrypoint string resets it
  assert.deepEqual(commandLine(mergeConfig({ Entrypoint: [''], Cmd: ['ls'] }, withEp, 'x')), ['ls']);
  assert.deepEqual(commandLine(mergeConfig({ Cmd: 'ls' as unknown as string[] }, image, 'x')), ['ls']);
});

test('env, workdir, user, labels fall back to the image', () => {
  const c = mergeConfig({ Env: ['A=2', 'B=3'], Labels: { b: 'run' } }, image, 'busybox');
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.equal(c.WorkingDir, '/w');
  assert.equal(c.User, 'daemon');
  assert.deepEqual(c.Labels, { a: 'img', b: 'run' });
  assert.deepEqual(mergeEnv(['X=1'], ['X=2', 'Y=1']), ['X=2', 'Y=1']);
});

test('create bodies are validated', () => {
  assert.throws(() => validateBody([]), /must be a JSON object/);
  assert.throws(() => validateBody({ Cmd: 5 }), /cannot unmarshal/);
  assert.doesNotThrow(() => validateBody({ Image: 'x', Cmd: ['a'] }));
});

test('container names', () => {
  assert.equal(checkName('web-1'), '/web-1');
  assert.throws(() => checkName('bad name'), /Invalid container name/);
  assert.throws(() => checkName('-x'), /Invalid container name/);
});

test('detach keys: parsing and a filter that holds back prefixes', () => {
  assert.deepEqual(parseDetachKeys(undefined), [16, 17]);
  assert.deepEqual(parseDetachKeys('ctrl-a,x'), [1, 120]);
  assert.throws(() => parseDetachKeys('ctrl-ab'), /Invalid detach keys/);
  const f = new DetachFilter([16, 17]);
  assert.deepEqual(f.push(Buffer.from('ab')), { forward: Buffer.from('ab'), detach: false });
  assert.deepEqual(f.push(Buffer.from([16])), { forward: Buffer.alloc(0), detach: false });
  assert.deepEqual(f.push(Buffer.from('c')), { forward: Buffer.from([16, 99]), detach: false });
  assert.deepEqual(f.push(Buffer.from([16, 16, 17])).detach, true);
});

test('stdcopy relay: passes frames, filters streams, strips headers for a TTY', () => {
  const input = Buffer.concat([frame(1, 'out'), frame(2, 'err')]);
  const got: Buffer[] = [];
  const mux = new FrameRelay({ tty: false, stdout: true, stderr: false }, (b) => got.push(b));
  mux.push(input.subarray(0, 5)); mux.push(input.subarray(5));
  assert.deepEqual(Buffer.concat(got), frame(1, 'out'));
  const raw: Buffer[] = [];
  new FrameRelay({ tty: true, stdout: true, stderr: true }, (b) => raw.push(b)).push(input);
  assert.equal(Buffer.concat(raw).toString(), 'outerr');
});

test('signals', () => {
  assert.equal(parseSignal('TERM'), 15);
  assert.equal(parseSignal('SIGKILL'), 9);
  assert.equal(parseSignal('10'), 10);
  assert.equal(parseSignal(undefined, 'SIGKILL'), 9);
  assert.throws(() => parseSignal('NOPE'), /Invalid signal: NOPE/);
});

test('human durations and status texts like docker', () => {
  assert.equal(humanDuration(0.5), 'Less than a second');
  assert.equal(humanDuration(1), '1 second');
  assert.equal(humanDuration(45), '45 seconds');
  assert.equal(humanDuration(70), 'About a minute');
  assert.equal(humanDuration(600), '10 minutes');
  assert.equal(humanDuration(3700), 'About an hour');
  assert.equal(humanDuration(3 * 3600), '3 hours');
  assert.equal(humanDuration(3 * 86400), '3 days');
  const rec = { State: { Status: 'exited', ExitCode: 2, FinishedAt: new Date(Date.now() - 5000).toISOString(), StartedAt: '' } } as unknown as ContainerRecord;
  assert.equal(statusText(rec), 'Exited (2) 5 seconds ago');
  rec.State.Status = 'created';
  assert.equal(statusText(rec), 'Created');
});

test('capabilities: docker defaults, add, drop, ALL', () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.ok(resolveCapabilities(['NET_ADMIN']).includes('CAP_NET_ADMIN'));
  assert.ok(!resolveCapabilities([], ['chown']).includes('CAP_CHOWN'));
  assert.deepEqual(resolveCapabilities(['CHOWN'], ['ALL']), ['CAP_CHOWN']);
  assert.ok(resolveCapabilities([], [], true).includes('CAP_SYS_ADMIN'));
});

test('masked paths: the CPUs of /sys/devices/system/cpu/possible, whose thermal_throttle directories Docker masks', () => {
  const cpus = (text: string) => [...parseCpuList(text.trim())]; // as defaultMaskedPaths reads the possible CPUs
  assert.deepEqual(cpus('0-1\n'), [0, 1]);
  assert.deepEqual(cpus('0-3,6,8-9'), [0, 1, 2, 3, 6, 8, 9]);
  assert.deepEqual(cpus('0'), [0]);
  assert.deepEqual(cpus(''), []);
  for (const p of defaultMaskedPaths().slice(MASKED_PATHS.length)) assert.match(p, /^\/sys\/devices\/system\/cpu\/cpu\d+\/thermal_throttle$/);
});

test('device cgroup rules as dockerd takes them', () => {
  assert.deepEqual(parseDeviceCgroupRule('c 10:229 rwm'), { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' });
  assert.deepEqual(parseDeviceCgroupRule('a *:* m'), { allow: true, type: 'a', access: 'm' });
  assert.deepEqual(parseDeviceCgroupRule('b 8:* r'), { allow: true, type: 'b', major: 8, access: 'r' });
  for (const bad of ['x 1:2 r', 'c 1:2', 'c 1 r', 'c 1:2 rx', '']) assert.equal(parseDeviceCgroupRule(bad), undefined, bad);
});

test('OCI spec: the host\'s pid, ipc and uts namespaces, or another container\'s pid namespace; no /dev/shm with --ipc none', () => {
  const base = {
    rootfs: '/r', args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, terminal: false,
    hostname: 'abc', cgroupsPath: '/berth/x', etcFiles: [],
  };
  const types = (spec: any) => spec.linux.namespaces.map((n: { type: string; path?: string }) => n.path ? `${n.type}=${n.path}` : n.type).sort();
  assert.deepEqual(types(buildSpec({ ...base, pidNamespace: 'host', ipcMode: 'host', utsHost: true })), ['mount', 'network']);
  const joined = buildSpec({ ...base, pidNamespace: 42, ipcMode: 'none' }) as any;
  assert.deepEqual(types(joined), ['ipc', 'mount', 'network', 'pid=/proc/42/ns/pid', 'uts']);
  assert.ok(!joined.mounts.some((m: { destination: string }) => m.destination === '/dev/shm'));
  const hostIpc = buildSpec({ ...base, ipcMode: 'host', utsHost: true }) as any;
  assert.deepEqual(hostIpc.mounts.find((m: { destination: string }) => m.destination === '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  assert.equal(hostIpc.hostname, undefined);
});

test('OCI spec has docker defaults: namespaces, masked/readonly paths, mounts, seccomp', () => {
  const spec = buildSpec({
    rootfs: '/r', args: ['sh'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, terminal: false,
    hostname: 'abc', netnsPath: '/run/netns/x', cgroupsPath: '/berth/x', etcFiles: [{ destination: '/etc/hosts', source: '/h' }],
  }) as any;
  assert.deepEqual(spec.linux.namespaces.map((n: { type: string }) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.equal(spec.linux.namespaces.find((n: { type: string }) => n.type === 'network').path, '/run/netns/x');
  assert.deepEqual(spec.linux.maskedPaths, defaultMaskedPaths());
  assert.deepEqual(defaultMaskedPaths().slice(0, MASKED_PATHS.length), MASKED_PATHS);
  assert.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
  assert.ok(spec.mounts.some((m: { destination: string }) => m.destination === '/dev/shm'));
  assert.ok(spec.mounts.some((m: { destination: string; source: string }) => m.destination === '/etc/hosts' && m.source === '/h'));
  assert.equal(spec.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(spec.process.capabilities.bounding.length, 14);
  const host = buildSpec({ rootfs: '/r', args: ['sh'], env: [], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [] }, terminal: false, hostname: 'h', netnsPath: null, cgroupsPath: '/b', etcFiles: [] }) as any;
  assert.ok(!host.linux.namespaces.some((n: { type: string }) => n.type === 'network'));
});

test('seccomp resolution follows capabilities', () => {
  const base = seccompFor(DEFAULT_CAPABILITIES);
  const names = (p: typeof base) => new Set(p.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));
  assert.ok(names(base).has('read'));
  // module loading is allowed only with CAP_SYS_MODULE, as in Docker's profile
  assert.ok(!names(base).has('init_module'));
  assert.ok(names(seccompFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_MODULE'])).has('init_module'));
  assert.ok(base.architectures.includes('SCMP_ARCH_X86_64'));
});

test('log timestamps with nanoseconds', () => {
  assert.equal(entrySeconds('2026-11-25T16:15:00.5Z'), Date.parse('2026-11-25T16:15:00Z') / 1000 + 0.5);
  assert.equal(entrySeconds('2026-11-25T16:15:00Z'), Date.parse('2026-11-25T16:15:00Z') / 1000);
});

test('seccomp profile directives for the BPF compiler', async () => {
  const { profileDirectives } = await import('../../src/runtime/seccomp');
  const text = profileDirectives({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], syscalls: [
    { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
  ] });
  assert.equal(text, 'default SCMP_ACT_ERRNO 1\narch SCMP_ARCH_X86_64\nrule SCMP_ACT_ALLOW - read 0\nrule SCMP_ACT_ALLOW - write 0\nrule SCMP_ACT_ALLOW - personality 1 0 SCMP_CMP_EQ 8 0\n');
});

test('attach relay: a client that does not read stops the reads from the shim until it drains', async () => {
  // the shim side: a real socket pair fed with output faster than the client takes it
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const shimConn = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const shim = await accepted;
  let release: (() => void) | undefined;
  let taken = 0;
  // a client whose writes complete only when released: it "never reads" until then
  const client = new Duplex({
    highWaterMark: 64 << 10,
    read() { /* no stdin */ },
    write(chunk: Buffer, _enc, cb) { taken += chunk.length; release = cb; },
  });
  const done = relay(client, shimConn, { tty: true, stdin: false, stdout: true, stderr: false, detachKeys: [] });
  let pump: NodeJS.Timeout | undefined;
  try {
    const chunk = frame(1, Buffer.alloc(16 << 10, 0x61));
    for (let i = 0; i < 64; i++) shim.write(chunk);
    for (const until = Date.now() + 5000; !shimConn.isPaused() && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100)); // time for reads that would go on, had the pause not held
    assert.ok(shimConn.isPaused(), 'reads from the shim go on while the client is full');
    assert.ok(client.writableLength <= 2 * (64 << 10) + chunk.length, `client buffered ${client.writableLength} bytes`);
    // the client reads again: everything arrives
    pump = setInterval(() => { const r = release; release = undefined; r?.(); }, 1);
    for (const until = Date.now() + 20_000; taken < 64 * (16 << 10) && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    assert.equal(taken, 64 * (16 << 10));
    assert.ok(!shimConn.isPaused());
    shim.end();
    assert.equal(await done, 'exited');
  } finally {
    clearInterval(pump);
    shim.destroy(); shimConn.destroy(); client.destroy();
    server.close();
  }
});
