// Unit tests for the volume store on a temporary directory (no mounts, no root needed): create/get/remove with
// docker's texts, references, prune's anonymous-only default, list and prune filters, persistence and the
// clean-up of half-done creates and removes, and the local driver's options.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, mkdirSync, writeFileSync, readdirSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EventBus, type EngineEvent } from '../../src/engine/events';
import { VolumeStore, volumeView } from '../../src/engine/volumes/store';
import { listFilter, pruneFilter } from '../../src/engine/volumes/filters';
import { nameError, optsError, parseMountOptions, ANONYMOUS_LABEL } from '../../src/engine/volumes/local';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function store(root?: string): Promise<{ s: VolumeStore; root: string; events: EngineEvent[] }> {
  const r = root ?? mkdtempSync(path.join(os.tmpdir(), 'berth-vols-'));
  if (!root) dirs.push(r);
  const bus = new EventBus();
  const events: EngineEvent[] = [];
  bus.on('event', (e: EngineEvent) => events.push(e));
  return { s: await VolumeStore.open(r, bus), root: r, events };
}

const status = (code: number, re: RegExp | string) => (e: unknown) => {
  const msg = (e as Error).message;
  assert.equal((e as { status?: number }).status, code, msg);
  if (typeof re === 'string') assert.equal(msg, re); else assert.match(msg, re);
  return true;
};

test('create, get, inspect view, create again, remove', async () => {
  const { s, root, events } = await store();
  const { volume, created } = await s.create({ Name: 'data', Labels: { team: 'a' } });
  assert.ok(created);
  assert.ok(existsSync(path.join(root, 'data', '_data')));
  const view = volumeView(volume, s.dataPath('data'));
  assert.deepEqual(Object.keys(view), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
  assert.match(view.CreatedAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual([view.Driver, view.Labels, view.Mountpoint, view.Options, view.Scope], ['local', { team: 'a' }, path.join(root, 'data', '_data'), null, 'local']);
  // empty maps read back as null, as docker shows them
  assert.equal((await s.create({ Name: 'plain', Labels: {}, DriverOpts: {} })).volume.Labels, null);
  // the same name again: the existing volume (labels asked for the second time are not applied, as in docker)
  const again = await s.create({ Name: 'data', Labels: { other: 'x' } });
  assert.equal(again.created, false);
  assert.deepEqual(again.volume.Labels, { team: 'a' });
  // …and with other driver options too: docker answers with the existing volume, unchanged (issue 14)
  const otherOpts = await s.create({ Name: 'data', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
  assert.equal(otherOpts.created, false);
  assert.deepEqual([otherOpts.volume.Options, otherOpts.volume.Labels], [null, { team: 'a' }]);
  const anon = await s.create({});
  assert.match(anon.volume.Name, /^[0-9a-f]{64}$/);
  await s.remove('data');
  assert.equal(s.tryGet('data'), undefined);
  assert.ok(!existsSync(path.join(root, 'data')));
  assert.deepEqual(events.filter((e) => e.Actor.ID === 'data').map((e) => e.Action), ['create', 'create', 'create', 'destroy']);
  assert.deepEqual(events[0].Actor.Attributes, { driver: 'local' });
  await assert.rejects(s.remove('data'), status(404, 'get data: no such volume'));
  await s.remove('data', true); // force: a missing volume is fine
  assert.throws(() => s.get('nope'), status(404, 'get nope: no such volume'));
});

test('names, drivers and options are checked with docker texts', async () => {
  const { s } = await store();
  await assert.rejects(s.create({ Name: 'a b' }), status(400, `create a b: "a b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`));
  await assert.rejects(s.create({ Name: 'x' }), status(400, 'create x: volume name is too short, names should be at least two alphanumeric characters'));
  await assert.rejects(s.create({ Name: 'yy', Driver: 'nfs-plugin' }), status(404, 'create yy: error looking up volume plugin nfs-plugin: plugin "nfs-plugin" not found'));
  await assert.rejects(s.create({ Name: 'zz', DriverOpts: { foo: 'bar' } }), status(400, 'create zz: invalid option: "foo"'));
  await assert.rejects(s.create({ Name: 'zz', DriverOpts: { type: 'tmpfs' } }), status(400, 'create zz: missing required option: "device"'));
  await assert.rejects(s.create({ Name: 'zz', DriverOpts: { o: 'size=1m' } }), status(400, 'create zz: missing required option: "device"'));
  await assert.rejects(s.create({ Name: 5 }), status(400, /cannot unmarshal number/));
  assert.equal(s.list().length, 0, 'nothing half created');
  assert.equal(nameError('ok'), undefined);
  assert.equal(optsError({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }), undefined);
  assert.equal(optsError({ size: '10G' }), 'quota size requested but no quota support');
});

test('references: remove refused while used, by running and stopped containers alike', async () => {
  const { s } = await store();
  await s.create({ Name: 'shared' }, { ref: 'c1' });
  s.addRef('shared', 'c2');
  await assert.rejects(s.remove('shared'), status(409, 'remove shared: volume is in use - [c1, c2]'));
  await assert.rejects(s.remove('shared', true), status(409, /volume is in use/)); // force does not override use
  s.releaseRef('shared', 'c1');
  s.releaseRef('shared', 'c2');
  await s.remove('shared');
});

test('prune: anonymous unused volumes by default, all with all=true, label filters, reclaimed bytes', async () => {
  const { s, events } = await store();
  const anon = (await s.create({}, { labels: { [ANONYMOUS_LABEL]: '' } })).volume.Name;
  const usedAnon = (await s.create({}, { labels: { [ANONYMOUS_LABEL]: '' }, ref: 'c1' })).volume.Name;
  await s.create({ Name: 'named', Labels: { keep: 'no' } });
  await s.create({ Name: 'keeper', Labels: { keep: 'yes' } });
  writeFileSync(path.join(s.dataPath(anon), 'f'), 'x'.repeat(100));
  const r1 = await s.prune(...spread(pruneFilter({}, false)));
  assert.deepEqual(r1, { VolumesDeleted: [anon], SpaceReclaimed: 100 });
  assert.ok(s.tryGet(usedAnon) && s.tryGet('named'));
  assert.deepEqual(events.filter((e) => e.Action === 'prune').map((e) => e.Actor.Attributes), [{ reclaimed: '100' }]);
  assert.equal(events.filter((e) => e.Action === 'destroy').length, 0); // docker sends none for pruned volumes
  const r2 = await s.prune(...spread(pruneFilter({ all: ['true'], 'label!': ['keep=yes'] }, false)));
  assert.deepEqual(r2.VolumesDeleted, ['named']);
  // clients before API 1.42 prune every unused volume
  const r3 = await s.prune(...spread(pruneFilter({ label: ['keep'] }, true)));
  assert.deepEqual(r3.VolumesDeleted, ['keeper']);
  assert.deepEqual(s.list().map((v) => v.Name), [usedAnon]);
  assert.throws(() => pruneFilter({ until: ['1h'] }, false), status(400, "invalid filter 'until'"));
  assert.throws(() => pruneFilter({ all: ['maybe'] }, false), status(400, "invalid filter 'all=[maybe]'"));
});
const spread = (f: ReturnType<typeof pruneFilter>) => [f.all, f.match] as const;

test('list filters: name (regexp), driver, label, dangling', async () => {
  const { s } = await store();
  await s.create({ Name: 'web-data', Labels: { app: 'web' } }, { ref: 'c1' });
  await s.create({ Name: 'db-data', Labels: { app: 'db', tier: 'back' } });
  const names = (f: Record<string, string[]>) => s.list().filter(listFilter(f, (n) => s.refsOf(n).length > 0)).map((v) => v.Name).sort();
  assert.deepEqual(names({}), ['db-data', 'web-data']);
  assert.deepEqual(names({ name: ['web'] }), ['web-data']);
  assert.deepEqual(names({ name: ['^db-'] }), ['db-data']);
  assert.deepEqual(names({ driver: ['local'] }), ['db-data', 'web-data']);
  assert.deepEqual(names({ driver: ['loc'] }), []);
  assert.deepEqual(names({ label: ['app=db'] }), ['db-data']);
  assert.deepEqual(names({ label: ['tier'] }), ['db-data']);
  assert.deepEqual(names({ dangling: ['true'] }), ['db-data']);
  assert.deepEqual(names({ dangling: ['0'] }), ['web-data']);
  assert.throws(() => names({ dangling: ['maybe'] }), status(400, "invalid filter 'dangling=[maybe]'"));
  assert.throws(() => names({ foo: ['x'] }), status(400, "invalid filter 'foo'"));
});

test('volumes survive a reopen; half-done creates and removes are cleaned up', async () => {
  const { s, root } = await store();
  await s.create({ Name: 'keep', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' }, Labels: { a: 'b' } });
  writeFileSync(path.join(s.dataPath('keep'), 'f'), 'data');
  // what a daemon killed mid-create or mid-remove leaves, and a directory copied in by hand
  mkdirSync(path.join(root, '.new-0123456789abcdef', '_data'), { recursive: true });
  mkdirSync(path.join(root, '.rm-0123456789abcdef', '_data'), { recursive: true });
  mkdirSync(path.join(root, 'handmade', '_data'), { recursive: true });
  const { s: again } = await store(root);
  const keep = again.get('keep');
  assert.deepEqual(keep.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
  assert.deepEqual(keep.Labels, { a: 'b' });
  assert.ok(again.tryGet('handmade'));
  assert.deepEqual(readdirSync(root).sort(), ['handmade', 'keep']);
  assert.equal(await again.size('keep'), 4);
});

test('local driver: mount options split into flags and data', () => {
  assert.deepEqual(parseMountOptions('size=100m,uid=1000'), { flags: 0, data: 'size=100m,uid=1000' });
  assert.deepEqual(parseMountOptions('bind'), { flags: 0x1000, data: '' });
  assert.deepEqual(parseMountOptions('ro,nosuid,rbind'), { flags: 1 | 2 | 0x1000 | 0x4000, data: '' });
  assert.deepEqual(parseMountOptions('ro,rw,addr=1.2.3.4'), { flags: 0, data: 'addr=1.2.3.4' });
});
