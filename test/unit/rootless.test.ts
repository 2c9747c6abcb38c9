// Rootless berth's pure parts: subordinate ids, paths, the namespace's resolv.conf, cgroup delegation, the spec
// adjustments, user namespace detection, and where the CLI looks for a rootless daemon.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, chmodSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseSubIds, mapArgs, mappedCount, freeRange } from '../../src/rootless/subids';
import { rootlessPaths, runtimeDir, RootlessPathError, dataHome } from '../../src/rootless/paths';
import { namespaceResolvConf } from '../../src/rootless/child';
import { cgroupDelegation, CgroupFs } from '../../src/rootless/cgroups';
import { adjustSpecForRootless } from '../../src/rootless/spec';
import { parsePasswd } from '../../src/rootless/setup';
import { parseInUserNamespace } from '../../src/common/userns';
import { defaultHost, DEFAULT_HOST } from '../../src/client';

test('subordinate ids: by name or uid, comments and bad lines skipped, in file order', () => {
  const text = '# ranges\nalice:100000:65536\nbob:165536:65536\n1001:231072:1000\nalice:300000:10\nbroken:x:1\nalice:5:0\n';
  assert.deepEqual(parseSubIds(text, 'alice', 1000), [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }]);
  assert.deepEqual(parseSubIds(text, 'carol', 1001), [{ start: 231072, count: 1000 }]);
  assert.deepEqual(parseSubIds(text, 'dave', 1002), []);
});

test('newuidmap arguments: the user as 0, subordinate ranges from 1 on', () => {
  const ranges = [{ start: 100000, count: 65536 }, { start: 300000, count: 10 }];
  assert.deepEqual(mapArgs(1000, ranges), ['0', '1000', '1', '1', '100000', '65536', '65537', '300000', '10']);
  assert.equal(mappedCount(ranges), 65547);
});

test('a free subordinate range avoids every used one', () => {
  assert.deepEqual(freeRange(['', '']), { start: 100000, count: 65536 });
  assert.deepEqual(freeRange(['a:100000:65536\n', 'a:100000:65536\n']), { start: 165536, count: 65536 });
  assert.deepEqual(freeRange(['a:100000:65536\nb:200000:100\n', '']), { start: 200100, count: 65536 });
  assert.deepEqual(freeRange(['a:100000:65536\nb:300000:100\n', '']), { start: 165536, count: 65536 });
});

test('paths: data under XDG_DATA_HOME or ~/.local/share, exec root and socket under XDG_RUNTIME_DIR', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-rl-paths-'));
  try {
    chmodSync(dir, 0o700);
    const uid = process.getuid!();
    const p = rootlessPaths({ XDG_RUNTIME_DIR: dir, HOME: '/home/u' }, uid);
    assert.deepEqual(p, { dataRoot: '/home/u/.local/share/berth', execRoot: `${dir}/berth`, host: `unix://${dir}/berth/berth.sock`, runtimeDir: dir });
    assert.equal(dataHome({ XDG_DATA_HOME: '/d', HOME: '/home/u' }), '/d');
    assert.equal(dataHome({ XDG_DATA_HOME: 'relative', HOME: '/home/u' }), '/home/u/.local/share');
    // a runtime dir others can enter is refused (the socket lives there)
    chmodSync(dir, 0o755);
    assert.throws(() => runtimeDir({ XDG_RUNTIME_DIR: dir }, uid), RootlessPathError);
    assert.throws(() => runtimeDir({ XDG_RUNTIME_DIR: dir }, uid + 1), /owned by uid/);
    assert.throws(() => runtimeDir({ XDG_RUNTIME_DIR: `${dir}/missing` }, uid), /does not exist/);
    assert.throws(() => runtimeDir({}, 2_000_000_000), /XDG_RUNTIME_DIR is not set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the namespace resolv.conf names the user-mode network resolver and keeps search and options', () => {
  const host = 'nameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n# comment\n';
  assert.equal(namespaceResolvConf(host, '10.0.2.3'), 'nameserver 10.0.2.3\nsearch corp.example\noptions edns0 trust-ad\n');
  assert.equal(namespaceResolvConf('', '10.0.2.3'), 'nameserver 10.0.2.3\n');
});

function fakeFs(files: Record<string, string>, writable: string[] = []): CgroupFs {
  return {
    exists: async (p) => p in files,
    read: async (p) => { if (!(p in files)) throw new Error('ENOENT'); return files[p]; },
    writable: async (p) => writable.includes(p),
  };
}

test('cgroups: limits only with a delegated v2 subtree holding memory and pids', async () => {
  const hybrid = await cgroupDelegation(fakeFs({ '/r/unified/cgroup.controllers': '' }), '/r');
  assert.deepEqual(hybrid, { available: false, reason: 'the host runs cgroup v1 (a v1/v2 hybrid); unprivileged users get no cgroup there' });
  assert.match((await cgroupDelegation(fakeFs({}), '/r') as { reason: string }).reason, /cgroup v1/);
  const own = '/user.slice/user-1000.slice/user@1000.service/app.slice';
  const base = { '/r/cgroup.controllers': 'cpu memory pids', '/proc/self/cgroup': `0::${own}\n`, [`/r${own}/cgroup.controllers`]: 'cpu memory pids' };
  const notDelegated = await cgroupDelegation(fakeFs(base), '/r');
  assert.match((notDelegated as { reason: string }).reason, /not delegated/);
  const delegated = await cgroupDelegation(fakeFs(base, [`/r${own}`, `/r${own}/cgroup.subtree_control`]), '/r');
  assert.deepEqual(delegated, { available: true, path: own, controllers: ['cpu', 'memory', 'pids'] });
  const noMemory = await cgroupDelegation(fakeFs({ ...base, [`/r${own}/cgroup.controllers`]: 'cpu pids' }, [`/r${own}`, `/r${own}/cgroup.subtree_control`]), '/r');
  assert.match((noMemory as { reason: string }).reason, /lacks the memory controller/);
});

test('spec: without cgroups no cgroup path, no resources, /sys/fs/cgroup bound read-only', () => {
  const spec: Record<string, unknown> = {
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }],
    linux: { cgroupsPath: '/berth/x', resources: { devices: [] }, namespaces: [] },
  };
  adjustSpecForRootless(spec, { privileged: false, hostNetwork: false, cgroups: false });
  const linux = spec.linux as Record<string, unknown>;
  assert.equal(linux.cgroupsPath, undefined);
  assert.equal(linux.resources, undefined);
  assert.deepEqual((spec.mounts as unknown[])[1], { destination: '/sys/fs/cgroup', type: 'bind', source: '/sys/fs/cgroup', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  const kept: Record<string, unknown> = { mounts: [], linux: { cgroupsPath: '/a', resources: { pids: { limit: 5 } } } };
  adjustSpecForRootless(kept, { privileged: false, hostNetwork: false, cgroups: true });
  assert.equal((kept.linux as Record<string, unknown>).cgroupsPath, '/a');
});

test('user namespace detection from uid_map', () => {
  assert.equal(parseInUserNamespace('         0          0 4294967295\n'), false);
  assert.equal(parseInUserNamespace('         0       1000          1\n         1     100000      65536\n'), true);
  assert.equal(parseInUserNamespace('0 0 1000\n'), true);
});

test('the CLI of an ordinary user finds its rootless daemon, root the system one', () => {
  const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
  assert.equal(defaultHost(env, 1000, (p) => p === '/run/user/1000/berth/berth.sock'), 'unix:///run/user/1000/berth/berth.sock');
  assert.equal(defaultHost(env, 1000, () => false), DEFAULT_HOST);
  assert.equal(defaultHost({}, 1000, (p) => p === '/run/user/1000/berth/berth.sock'), 'unix:///run/user/1000/berth/berth.sock');
  assert.equal(defaultHost(env, 0, () => true), DEFAULT_HOST);
});

test('setup reads users from passwd by name or uid', () => {
  const text = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:,,,:/home/alice:/bin/bash\n';
  assert.deepEqual(parsePasswd(text, 'alice'), { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' });
  assert.deepEqual(parsePasswd(text, '1000')?.name, 'alice');
  assert.equal(parsePasswd(text, 'bob'), undefined);
});

