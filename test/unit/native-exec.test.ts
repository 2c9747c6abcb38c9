// The daemon's side of native execs (src/engine/exec/native.ts): the exec file's records, the cgroups an exec must
// join, the start time that guards against a reused pid, and every case that must go back to the runtime.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NativeExecFiles, cgroupsToJoin, startTimeOf, type NativeExecProcess } from '../../src/engine/exec/native';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-unit-nexec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const proc: NativeExecProcess = {
  user: { uid: 1000, gid: 1000, additionalGids: [10, 50] }, args: ['sh', '-c', 'echo a=b'], env: ['PATH=/bin', 'X=1=2'], cwd: '/tmp',
  capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_AUDIT_WRITE'] }, noNewPrivileges: true,
  rlimits: [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }, { type: 'RLIMIT_CORE', soft: -1, hard: -1 }],
};

let n = 0;
function bundle(config: object): string {
  const b = path.join(dir, `bundle-${++n}`);
  mkdirSync(b);
  writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
  return b;
}
const records = (file: string) => readFileSync(file, 'utf8').split('\0').slice(0, -1);

test('startTimeOf reads field 22 even when the command name holds spaces and parentheses', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3)); // fields 3.. after the name
  assert.equal(startTimeOf(`42 (a) b (c)) ${fields.join(' ')}`), '22');
  const own = readFileSync('/proc/self/stat', 'utf8');
  assert.match(startTimeOf(own)!, /^\d+$/);
});

test('cgroupsToJoin: the container\'s hierarchies where it is elsewhere than us, on their mount points', () => {
  const layout = { v1: { cpu: '/sys/fs/cgroup/cpu', cpuacct: '/sys/fs/cgroup/cpu', memory: '/sys/fs/cgroup/memory', 'name=systemd': '/sys/fs/cgroup/systemd' }, unified: '/sys/fs/cgroup/unified', v2Controllers: [] };
  const own = '4:cpu,cpuacct:/system\n3:memory:/berth/c1\n1:name=systemd:/system\n0::/system\n';
  const container = '5:net_cls:/berth/c1\n4:cpu,cpuacct:/berth/c1\n3:memory:/berth/c1\n1:name=systemd:/berth/c1\n0::/berth/c1\n';
  assert.deepEqual(cgroupsToJoin(container, own, layout), [
    '/sys/fs/cgroup/cpu/berth/c1/cgroup.procs', // memory is where we are already; net_cls is not mounted
    '/sys/fs/cgroup/systemd/berth/c1/cgroup.procs',
    '/sys/fs/cgroup/unified/berth/c1/cgroup.procs',
  ]);
  // a rootless container without cgroups of its own sits where the daemon is: nothing to join
  assert.deepEqual(cgroupsToJoin(own, own, layout), []);
  // pure v2
  assert.deepEqual(cgroupsToJoin('0::/berth/c2\n', '0::/\n', { v1: {}, unified: '/sys/fs/cgroup', v2Controllers: [] }), ['/sys/fs/cgroup/berth/c2/cgroup.procs']);
});

test('the exec file carries the process and the container\'s part; the seccomp filter is written raw', async () => {
  const files = new NativeExecFiles();
  const bpf = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const b = bundle({ linux: { seccomp: { defaultAction: 'SCMP_ACT_ERRNO' } }, annotations: { 'run.oci.seccomp_bpf_data': bpf.toString('base64') } });
  const file = path.join(dir, 'e1');
  assert.equal(await files.write(file, 'c1', b, process.pid, proc), file);
  const r = records(file);
  assert.ok(r.includes(`pid=${process.pid}`));
  assert.ok(r.includes(`start=${startTimeOf(readFileSync('/proc/self/stat', 'utf8'))}`));
  assert.ok(r.includes(`seccomp=${b}/exec-seccomp.bpf`) && r.includes('seccomp-flags=4'), 'crun\'s default flag: SPEC_ALLOW');
  assert.deepEqual(readFileSync(`${b}/exec-seccomp.bpf`), bpf);
  for (const want of ['uid=1000', 'gid=1000', 'group=10', 'group=50', 'cwd=/tmp', 'arg=sh', 'arg=-c', 'arg=echo a=b', 'env=X=1=2', 'nnp=1',
    'rlimit=RLIMIT_NOFILE 100 200', 'rlimit=RLIMIT_CORE 18446744073709551615 18446744073709551615']) assert.ok(r.includes(want), want);
  // CAP_CHOWN 0, CAP_KILL 5, CAP_AUDIT_WRITE 29
  assert.ok(r.includes(`caps=${(1n << 0n) | (1n << 5n) | (1n << 29n)}`), r.join(' '));
  assert.equal(files.size, 1);
  // the container's part is kept: a changed config.json is not read again while the same process runs
  writeFileSync(path.join(b, 'config.json'), '{ not json');
  assert.equal(await files.write(path.join(dir, 'e2'), 'c1', b, process.pid, proc), path.join(dir, 'e2'));
  files.forget('c1');
  assert.equal(files.size, 0);
  await assert.rejects(files.write(path.join(dir, 'e3'), 'c1', b, process.pid, proc), SyntaxError);
});

test('whatever the native path does not reproduce goes to the runtime', async () => {
  const files = new NativeExecFiles();
  const cases: Array<[string, object]> = [
    ['an AppArmor profile', { process: { apparmorProfile: 'docker-default' } }],
    ['an SELinux label', { process: { selinuxLabel: 'system_u:system_r:container_t:s0' } }],
    ['a personality', { linux: { personality: { domain: 'LINUX32' } } }],
    ['seccomp without a precompiled filter', { linux: { seccomp: { defaultAction: 'SCMP_ACT_ERRNO' } } }],
    ['a seccomp flag it does not know', { linux: { seccomp: { flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] } }, annotations: { 'run.oci.seccomp_bpf_data': 'AQIDBAUGBwg=' } }],
  ];
  for (const [what, config] of cases) {
    const file = path.join(dir, `x${++n}`);
    assert.equal(await files.write(file, `c-${n}`, bundle(config), process.pid, proc), undefined, what);
    assert.ok(!existsSync(file), what);
  }
  const plain = bundle({});
  assert.equal(await files.write(path.join(dir, 'cap'), 'c-cap', plain, process.pid, { ...proc, capabilities: { bounding: ['CAP_NOT_A_CAP'] } }), undefined, 'an unknown capability');
  assert.equal(await files.write(path.join(dir, 'nul'), 'c-nul', plain, process.pid, { ...proc, args: ['a\0b'] }), undefined, 'a NUL in an argument');
  assert.equal(await files.write(path.join(dir, 'pid0'), 'c-pid0', plain, 0, proc), undefined, 'no process');
  const saved = process.env.BERTH_NATIVE_EXEC;
  process.env.BERTH_NATIVE_EXEC = '0';
  try {
    assert.equal(await files.write(path.join(dir, 'off'), 'c-off', plain, process.pid, proc), undefined, 'BERTH_NATIVE_EXEC=0');
  } finally {
    if (saved === undefined) delete process.env.BERTH_NATIVE_EXEC; else process.env.BERTH_NATIVE_EXEC = saved;
  }
  // without seccomp in the spec (a privileged container) there is no filter record
  const file = path.join(dir, 'priv');
  assert.equal(await files.write(file, 'c-priv', plain, process.pid, proc), file);
  assert.ok(!records(file).some((r) => r.startsWith('seccomp')));
});
