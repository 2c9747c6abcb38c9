// Unit tests for container mount specs: -v (Binds) parsing, --mount validation, --volumes-from, --tmpfs, the
// precedence and duplicate rules of planMounts, tmpfs option merging and the OCI mount order — with docker's texts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  parseBind, parseMount, parseVolumesFrom, planMounts, mergeTmpfsOptions, tmpfsData, tmpfsMountOptions, validMountMode, cleanPath,
} from '../../src/engine/containers/mount-spec';
import { orderMounts, type OciMount } from '../../src/runtime/spec';
import type { MountPoint } from '../../src/engine/containers/types';

const HEX64 = /^[0-9a-f]{64}$/;
const err = (re: RegExp | string) => (e: unknown) => {
  const msg = (e as Error).message;
  if (typeof re === 'string' ? msg !== re : !re.test(msg)) throw new Error(`unexpected message: ${msg}`);
  return (e as { status?: number }).status === 400;
};

test('-v name:/path, /host:/path and /path', () => {
  const named = parseBind('data:/var/lib/data');
  assert.equal(named.Type, 'volume');
  assert.equal(named.Name, 'data');
  assert.equal(named.Destination, '/var/lib/data');
  assert.equal(named.Mode, 'z'); // docker's mode for a local volume given without one
  assert.equal(named.RW, true);
  assert.equal(named.CopyData, true);
  assert.equal(named.Anonymous, undefined);

  const ro = parseBind('data:/d:ro');
  assert.equal(ro.RW, false);
  assert.equal(ro.Mode, 'ro');
  const nocopy = parseBind('data:/d:nocopy');
  assert.equal(nocopy.CopyData, false);
  assert.equal(nocopy.RW, true);

  const bind = parseBind('/srv/www/:/usr/share/html/:ro,rslave');
  assert.equal(bind.Type, 'bind');
  assert.equal(bind.Source, '/srv/www');
  assert.equal(bind.Destination, '/usr/share/html');
  assert.equal(bind.Propagation, 'rslave');
  assert.equal(bind.RW, false);
  assert.equal(bind.CreateSource, true); // -v creates a missing host path
  assert.equal(parseBind('/srv:/x').Propagation, 'rprivate');
  assert.equal(parseBind('/srv:/x').Mode, '');

  const anon = parseBind('/cache');
  assert.equal(anon.Type, 'volume');
  assert.match(anon.Name!, HEX64);
  assert.equal(anon.Anonymous, true);
});

test('malformed -v specs fail with docker texts', () => {
  assert.throws(() => parseBind('a:b:c:d'), err("invalid volume specification: 'a:b:c:d'"));
  assert.throws(() => parseBind('/x:ro'), err("invalid volume specification: '/x:ro'"));
  assert.throws(() => parseBind(':/x'), err("invalid volume specification: ':/x'"));
  assert.throws(() => parseBind('foo:/x:rx'), err('invalid mode: rx'));
  assert.throws(() => parseBind('foo:/x:ro,rw'), err('invalid mode: ro,rw'));
  assert.throws(() => parseBind('foo:x'), err(`invalid volume specification: 'foo:x': invalid mount config for type "volume": invalid mount path: 'x' mount path must be absolute`));
  assert.throws(() => parseBind('/h:/'), err(`invalid volume specification: '/h:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`));
  assert.throws(() => parseBind('f:/x:rshared'), err(`invalid volume specification: 'f:/x:rshared': invalid mount config for type "volume": field BindOptions must not be specified`));
});

test('mount modes: one of each kind at most', () => {
  for (const ok of ['', 'ro', 'rw', 'z', 'Z', 'ro,z', 'rw,rslave,nocopy', 'cached', 'ro,Z,shared,nocopy,delegated']) assert.ok(validMountMode(ok), ok);
  for (const bad of ['rx', 'ro,rw', 'z,Z', 'shared,slave', 'nocopy,nocopy', 'ro,']) assert.ok(!validMountMode(bad), bad);
});

test('--mount volume, bind and tmpfs', () => {
  const v = parseMount({ Type: 'volume', Source: 'v1', Target: '/v', ReadOnly: true, VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } });
  assert.deepEqual([v.Type, v.Name, v.Destination, v.RW, v.CopyData, v.Mode], ['volume', 'v1', '/v', false, false, 'z']);
  assert.deepEqual(v.create, { driver: 'local', driverOpts: { type: 'tmpfs', device: 'tmpfs' }, labels: { a: 'b' } });
  const anon = parseMount({ Type: 'volume', Target: '/a' });
  assert.ok(anon.Anonymous);
  assert.match(anon.Name!, HEX64);

  const b = parseMount({ Type: 'bind', Source: '/etc', Target: '/e', BindOptions: { Propagation: 'rshared', NonRecursive: true } });
  assert.deepEqual([b.Type, b.Source, b.Propagation, b.NonRecursive, b.MustExist, b.CreateSource], ['bind', '/etc', 'rshared', true, true, false]);
  const created = parseMount({ Type: 'bind', Source: '/new', Target: '/n', BindOptions: { CreateMountpoint: true } });
  assert.equal(created.MustExist, false);
  assert.equal(created.CreateSource, true);

  const t = parseMount({ Type: 'tmpfs', Target: '/run', TmpfsOptions: { SizeBytes: 64 << 20, Mode: 0o1777 } });
  assert.equal(t.Data, 'mode=1777,size=64m');
  assert.equal(parseMount({ Type: 'tmpfs', Target: '/r', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } }).Data, 'ro,size=1000');
});

test('--mount validation errors', () => {
  const cases: Array<[object, string]> = [
    [{ Type: 'bind', Source: 'rel', Target: '/x' }, `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`],
    [{ Type: 'bind', Target: '/x' }, `invalid mount config for type "bind": field Source must not be empty`],
    [{ Type: 'bind', Source: '/a', Target: '/x', BindOptions: { Propagation: 'bogus' } }, `invalid mount config for type "bind": invalid propagation mode: bogus`],
    [{ Type: 'bind', Source: '/a', Target: '/x', VolumeOptions: {} }, `invalid mount config for type "bind": field VolumeOptions must not be specified`],
    [{ Type: 'volume', Target: '/x', ReadOnly: true }, `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`],
    [{ Type: 'volume', Source: 'v', Target: 'x' }, `invalid mount config for type "volume": invalid mount path: 'x' mount path must be absolute`],
    [{ Type: 'volume', Source: 'v', Target: '/' }, `invalid mount config for type "volume": invalid specification: destination can't be '/'`],
    [{ Type: 'volume', Source: 'v', Target: '' }, `invalid mount config for type "volume": field Target must not be empty`],
    [{ Type: 'volume', Source: 'v', Target: '/x', BindOptions: {} }, `invalid mount config for type "volume": field BindOptions must not be specified`],
    [{ Type: 'volume', Source: 'v', Target: '/x', VolumeOptions: { Subpath: '../up' } }, `invalid mount config for type "volume": subpath must be a relative path within the volume`],
    [{ Type: 'tmpfs', Source: 'foo', Target: '/x' }, `invalid mount config for type "tmpfs": field Source must not be specified`],
    [{ Type: 'tmpfs', Target: '/x', TmpfsOptions: { Options: [['foo']] } }, `invalid mount config for type "tmpfs": Invalid tmpfs option ["foo"]`],
    [{ Type: 'npipe', Source: 'x', Target: '/x' }, `invalid mount config for type "npipe": mount type unknown`],
  ];
  for (const [m, msg] of cases) assert.throws(() => parseMount(m), err(msg), msg);
});

test('--volumes-from specs', () => {
  assert.deepEqual(parseVolumesFrom('web'), { id: 'web', mode: 'rw' });
  assert.deepEqual(parseVolumesFrom('web:ro'), { id: 'web', mode: 'ro' });
  assert.throws(() => parseVolumesFrom(''), err('volumes-from specification cannot be an empty string'));
  assert.throws(() => parseVolumesFrom('web:rshared'), err('invalid mode: rshared'));
  assert.throws(() => parseVolumesFrom('web:nocopy'), err('invalid mode: nocopy'));
  assert.throws(() => parseVolumesFrom('web:xx'), err('invalid mode: xx'));
});

test('tmpfs options: docker defaults, later wins, unknown refused', () => {
  assert.deepEqual(tmpfsMountOptions(''), ['noexec', 'nosuid', 'nodev', 'rprivate']);
  assert.deepEqual(tmpfsMountOptions('size=1m'), ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=1m']);
  // exec replaces noexec; a second size replaces the first
  assert.deepEqual(tmpfsMountOptions('exec,size=1m,size=2m'), ['nosuid', 'nodev', 'rprivate', 'exec', 'size=2m']);
  assert.deepEqual(mergeTmpfsOptions(['rprivate', 'rshared', 'defaults']), ['rshared']);
  assert.throws(() => tmpfsMountOptions('foo=bar'), err('Invalid tmpfs option ["foo" "bar"]'));
  assert.equal(tmpfsData({ SizeBytes: 3 * 2 ** 30 }, false), 'size=3g');
  assert.equal(tmpfsData({ SizeBytes: 1536 }, false), 'size=1536');
  assert.equal(tmpfsData({ SizeBytes: 2048, Options: [['exec']] }, false), 'size=2k,exec');
});

test('planMounts: precedence, duplicates, anonymous volumes, volumes-from', () => {
  const none = () => undefined;
  assert.throws(() => planMounts({ binds: ['/a:/x', '/b:/x/'], mountsOf: none }), err('Duplicate mount point: /x'));
  assert.throws(() => planMounts({ binds: ['v1:/x'], mounts: [{ Type: 'volume', Source: 'v2', Target: '/x' }], mountsOf: none }), err('Duplicate mount point: /x'));
  assert.throws(() => planMounts({ binds: ['v1:/x'], tmpfs: { '/x': '' }, mountsOf: none }), err('Duplicate mount point: /x'));
  assert.throws(() => planMounts({ tmpfs: { rel: '' }, mountsOf: none }), err("invalid mount path: 'rel' mount path must be absolute"));
  assert.throws(() => planMounts({ tmpfs: { '/': '' }, mountsOf: none }), err("invalid specification: destination can't be '/'"));
  assert.throws(() => planMounts({ tmpfs: { '/t': 'bogus' }, mountsOf: none }), err('Invalid tmpfs option ["bogus"]'));
  assert.throws(() => planMounts({ volumesFrom: ['ghost'], mountsOf: none }), err('No such container: ghost'));
  // --tmpfs and --mount type=tmpfs at one place: allowed, as docker allows it
  assert.equal(planMounts({ tmpfs: { '/x': '' }, mounts: [{ Type: 'tmpfs', Target: '/x' }], mountsOf: none }).length, 1);

  // the image's VOLUMEs become anonymous volumes, except where something else is mounted
  const plan = planMounts({ binds: ['data:/data'], volumes: { '/data': {}, '/cache': {}, '/t': {} }, tmpfs: { '/t': '' }, mountsOf: none });
  assert.deepEqual(plan.map((m) => m.Destination), ['/data', '/cache']);
  const cache = plan[1];
  assert.ok(cache.Anonymous && cache.CopyData && cache.RW);
  assert.equal(cache.Mode, '');

  // volumes from another container: kind, source and RW (narrowed by :ro) kept; mode and copy-up not
  const theirs: MountPoint[] = [
    { Type: 'volume', Name: 'shared', Source: '/vols/shared/_data', Driver: 'local', Destination: '/s', Mode: 'z', RW: true, Propagation: '', CopyData: true },
    { Type: 'bind', Source: '/etc', Destination: '/e', Mode: 'ro', RW: false, Propagation: 'rprivate' },
  ];
  const borrowed = planMounts({ volumesFrom: ['other:ro'], binds: ['/srv:/e'], mountsOf: (ref) => (ref === 'other' ? theirs : undefined) });
  assert.deepEqual(borrowed.map((m) => [m.Destination, m.Type, m.RW, m.Mode]), [['/s', 'volume', false, ''], ['/e', 'bind', true, '']]);
  assert.equal(borrowed[0].inherited, true);
  assert.equal(borrowed[0].CopyData, undefined);
});

test('container paths are cleaned like path.Clean', () => {
  assert.equal(cleanPath('/a/b/'), '/a/b');
  assert.equal(cleanPath('/a//b/../c'), '/a/c');
  assert.equal(cleanPath('/'), '/');
});

test('OCI mount order: defaults, then user mounts by depth; overridden defaults and etc files dropped', () => {
  const m = (destination: string, type = 'bind'): OciMount => ({ destination, type, source: destination, options: [] });
  const defaults = ['/proc', '/dev', '/dev/pts', '/sys', '/dev/shm'].map((d) => m(d, 'x'));
  const etc = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'].map((d) => m(d));
  const out = orderMounts(defaults, [m('/data/sub'), m('/data'), m('/etc/hosts')], etc, [m('/run', 'tmpfs'), m('/dev/shm', 'tmpfs')]);
  assert.deepEqual(out.map((x) => `${x.destination}:${x.type}`), [
    '/proc:x', '/dev:x', '/dev/pts:x', '/sys:x',
    '/data:bind', '/run:tmpfs', '/data/sub:bind', '/etc/hosts:bind', '/etc/hostname:bind', '/etc/resolv.conf:bind', '/dev/shm:tmpfs',
  ]);
  // a /dev of the user's hides every default under /dev
  const dev = orderMounts(defaults, [], [], [m('/dev', 'tmpfs')]);
  assert.deepEqual(dev.map((x) => x.destination), ['/proc', '/sys', '/dev']);
});
