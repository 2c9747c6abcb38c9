// Docker's path rules for archive requests, the stat header (Go's os.FileMode bits, RFC 3339 nanoseconds) and the
// confined resolution of container paths: `..` and symlinks never leave the view, trailing "/" and "/." follow
// a final symlink, mounts answer for the paths inside them.
import { test, describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'fs';
import * as path from 'path';
import {
  cleanArchivePath, decodePathStat, encodePathStat, goBase, goFileMode, goModeIsDir, goTimeJson, linkTargetInView, resolveInView,
} from '../../src/storage/archive-path';
import { PathError, ViewMounts } from '../../src/storage/archive-view';
import { tempDir } from './storage-fixtures';

describe('docker path rules', () => {
  test('cleanArchivePath keeps a trailing "/" and "/." and roots everything', () => {
    const cases: Array<[string, string]> = [
      ['/d/f', '/d/f'], ['d/f', '/d/f'], ['/d/', '/d/'], ['/d/.', '/d/.'], ['/d/./', '/d/./'],
      ['/', '/'], ['.', '/.'], ['/d/sub/..', '/d'], ['/d/sub/../', '/d/'], ['/../../etc/passwd', '/etc/passwd'],
      ['//d//f//', '/d/f/'], ['/d/..', '/'],
    ];
    for (const [given, want] of cases) assert.equal(cleanArchivePath(given), want, given);
  });

  test('goBase is filepath.Base: trailing slashes ignored, "/" for the root', () => {
    assert.equal(goBase('/d/f'), 'f');
    assert.equal(goBase('/d/'), 'd');
    assert.equal(goBase('/d/.'), '.');
    assert.equal(goBase('/'), '/');
    assert.equal(goBase(''), '.');
  });

  test('goFileMode gives Go os.FileMode numbers', () => {
    assert.equal(goFileMode(0o100750), 0o750); // regular
    assert.equal(goFileMode(0o040755), 2147484141); // dir, as dockerd sends it
    assert.equal(goFileMode(0o120777), 134218239); // symlink
    assert.equal(goFileMode(0o020666), 2 ** 26 + 2 ** 21 + 0o666); // char device: ModeDevice|ModeCharDevice
    assert.equal(goFileMode(0o060660), 2 ** 26 + 0o660); // block device
    assert.equal(goFileMode(0o010644), 2 ** 25 + 0o644); // fifo
    assert.equal(goFileMode(0o140755), 2 ** 24 + 0o755); // socket
    assert.equal(goFileMode(0o104755), 2 ** 23 + 0o755); // setuid
    assert.equal(goFileMode(0o102755), 2 ** 22 + 0o755); // setgid
    assert.equal(goFileMode(0o041777), 2 ** 31 + 2 ** 20 + 0o777); // sticky dir (/tmp)
    assert.ok(goModeIsDir(goFileMode(0o040700)));
    assert.ok(!goModeIsDir(goFileMode(0o100700)));
  });

  test('goTimeJson is RFC 3339 with the fraction trimmed, in UTC', () => {
    assert.equal(goTimeJson(1_764_107_895_986_636_399n), '2025-11-25T21:58:15.986636399Z');
    assert.equal(goTimeJson(1_778_185_225_000_000_000n), '2026-05-07T20:20:25Z');
    assert.equal(goTimeJson(1_000_000_000_500_000_000n), '2001-09-09T01:46:40.5Z');
  });

  test('the stat header is base64 JSON in docker\'s field order, HTML characters escaped as Go does', () => {
    const stat = { name: 'a<b>&c', size: 3, mode: 488, mtime: '2026-11-25T21:42:35.986636399Z', linkTarget: '' };
    const header = encodePathStat(stat);
    const json = Buffer.from(header, 'base64').toString();
    assert.equal(json, '{"name":"a\\u003cb\\u003e\\u0026c","size":3,"mode":488,"mtime":"2026-11-25T21:42:35.986636399Z","linkTarget":""}');
    assert.deepEqual(decodePathStat(header), stat);
    assert.equal(decodePathStat('%%%'), undefined);
  });
});

describe('confined resolution', () => {
  let sandbox: string;
  let root: string;
  let secret: string;

  before(async () => {
    sandbox = await tempDir('berth-archive-path-');
    root = path.join(sandbox, 'root');
    secret = path.join(sandbox, 'secret');
    await fs.mkdir(path.join(root, 'd/sub'), { recursive: true });
    await fs.mkdir(path.join(root, 'etc'), { recursive: true });
    await fs.writeFile(path.join(root, 'd/f'), 'hi\n');
    await fs.writeFile(path.join(root, 'etc/passwd'), 'inside');
    await fs.mkdir(secret);
    await fs.writeFile(path.join(secret, 'passwd'), 'OUTSIDE');
    await fs.symlink('/etc', path.join(root, 'd/abs'));
    await fs.symlink('f', path.join(root, 'd/rel'));
    await fs.symlink('../../../../../../etc', path.join(root, 'd/up'));
    await fs.symlink(secret, path.join(root, 'd/host')); // an absolute host path: means <root><secret> here
    await fs.symlink('loop2', path.join(root, 'd/loop1'));
    await fs.symlink('loop1', path.join(root, 'd/loop2'));
    await fs.symlink('/nowhere/x/../y', path.join(root, 'd/broken'));
    await fs.writeFile(path.join(sandbox, 'hosts'), 'mounted hosts');
    await fs.mkdir(path.join(sandbox, 'vol'));
    await fs.writeFile(path.join(sandbox, 'vol', 'data'), 'volume data');
  });
  after(async () => { await fs.rm(sandbox, { recursive: true, force: true }); });

  const view = () => ({ root });
  async function resolve(p: string, follow: 'parents' | 'all' = 'parents', v: { root: string; mounts?: { destination: string; source: string }[] } = view()) {
    const r = await resolveInView(v, cleanArchivePath(p), follow);
    await r.close();
    return r;
  }
  async function code(p: string, follow: 'parents' | 'all' = 'parents') {
    try {
      await resolve(p, follow);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof PathError, String(err));
      return err.code;
    }
  }

  test('plain paths, "..", the root', async () => {
    assert.equal((await resolve('/d/f')).rel, 'd/f');
    assert.equal((await resolve('/d/sub/../f')).rel, 'd/f');
    assert.equal((await resolve('/')).rel, '');
    assert.equal((await resolve('/../../..')).rel, '');
    assert.equal((await resolve('/d/.')).rel, 'd');
  });

  test('a final symlink is the link itself unless "/", "/." or "all" follow it', async () => {
    const r = await resolve('/d/abs');
    assert.equal(r.rel, 'd/abs');
    assert.ok(r.st.isSymbolicLink());
    assert.equal((await resolve('/d/abs/')).rel, 'etc');
    assert.equal((await resolve('/d/abs/.')).rel, 'etc');
    assert.equal((await resolve('/d/abs', 'all')).rel, 'etc');
    assert.equal((await resolve('/d/rel', 'all')).rel, 'd/f');
  });

  test('symlinks and ".." never leave the root', async () => {
    assert.equal((await resolve('/d/up/passwd')).rel, 'etc/passwd');
    assert.equal((await resolve('/d/abs/passwd')).rel, 'etc/passwd');
    // the link to a host directory names <root>/<that path>, which does not exist
    assert.equal(await code('/d/host/passwd'), 'ENOENT');
  });

  test('errors are the kernel\'s: ENOENT, ENOTDIR for a file used as a directory, ELOOP', async () => {
    assert.equal(await code('/nope'), 'ENOENT');
    assert.equal(await code('/d/f/'), 'ENOTDIR');
    assert.equal(await code('/d/f/x'), 'ENOTDIR');
    assert.equal(await code('/d/loop1/x'), 'ELOOP');
    assert.equal(await code('/d/loop1'), 'ok'); // the link itself
    const err = await resolve('/d/f/').catch((e: Error) => e);
    assert.equal((err as Error).message, 'lstat /d/f/: not a directory');
  });

  test('link targets resolve inside the view, as far as they exist', async () => {
    assert.equal(await linkTargetInView(view(), '/d/rel'), '/d/f');
    assert.equal(await linkTargetInView(view(), '/d/up'), '/etc');
    assert.equal(await linkTargetInView(view(), '/d/broken'), '/nowhere/y');
  });

  test('mounts: a path at or below a mount point is the source\'s', async () => {
    const v = { root, mounts: [{ destination: '/etc/hosts', source: path.join(sandbox, 'hosts') }, { destination: '/data', source: path.join(sandbox, 'vol') }] };
    const r = await resolveInView(v, '/etc/hosts', 'parents');
    assert.equal(await fs.readFile(r.path, 'utf8'), 'mounted hosts');
    await r.close();
    const d = await resolveInView(v, '/data/data', 'parents');
    assert.equal(await fs.readFile(d.path, 'utf8'), 'volume data');
    await d.close();
    const m = new ViewMounts(v.mounts);
    assert.equal(m.pointAt('data')?.source, path.join(sandbox, 'vol'));
    assert.equal(m.containing('data/x/y')?.rel, 'data');
    assert.equal(m.containing('database'), undefined);
    assert.equal(m.pointAt('etc'), undefined);
  });

  test('no descriptor is left open', async () => {
    const count = async () => (await fs.readdir('/proc/self/fd')).length;
    const n = await count();
    for (let i = 0; i < 20; i++) {
      await resolve('/d/abs/passwd');
      await code('/d/f/x');
      await code('/nope/deeper');
    }
    assert.equal(await count(), n);
  });
});
