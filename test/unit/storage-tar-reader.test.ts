// The synchronous tar parser and gunzip on their own: formats, metadata records, chunk boundaries, the end-of-archive rules
// (Go's archive/tar, as docker reads layers) and the errors a broken archive gets.
import { test, describe } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'crypto';
import { gzipSync } from 'zlib';
import { EngineError } from '../../src/common/errors';
import { syncGunzip } from '../../src/storage/gunzip-sync';
import { TarHeader, TarReader } from '../../src/storage/tar-reader';
import { blocks, END_OF_ARCHIVE, fileEntry, makeTar, paxEntry, rawHeader } from './storage-fixtures';

interface Parsed { h: TarHeader; content: Buffer }

/** Parses `tar` pushed in pieces of `chunk` bytes. */
function parse(tar: Buffer, chunk = tar.length): Parsed[] {
  const out: Parsed[] = [];
  let parts: Buffer[] = [];
  let current: TarHeader | undefined;
  const reader = new TarReader({
    entry: (h) => { current = h; parts = []; },
    data: (piece) => { parts.push(Buffer.from(piece)); },
    entryEnd: () => { out.push({ h: current!, content: Buffer.concat(parts) }); },
  });
  for (let i = 0; i < tar.length; i += chunk) reader.push(tar.subarray(i, i + chunk));
  reader.end();
  return out;
}

function rejects400(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof EngineError, `expected EngineError, got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('tar reader', () => {
  test('tar-stream\'s output, any chunking, gives the same entries', async () => {
    const tar = await makeTar([
      { name: 'd/', type: 'directory', mode: 0o755 },
      { name: 'd/a', content: 'x'.repeat(1000), mode: 0o4755, uid: 1000, gid: 1001 },
      { name: 'd/empty', content: '' },
      { name: 'd/l', type: 'symlink', linkname: 'a' },
      { name: 'd/h', type: 'link', linkname: 'd/a' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: `${'long/'.repeat(30)}file`, content: 'deep' },
    ]);
    const whole = parse(tar);
    assert.deepEqual(whole.map((e) => [e.h.name, e.h.type, e.content.toString()]), [
      ['d/', 'directory', ''], ['d/a', 'file', 'x'.repeat(1000)], ['d/empty', 'file', ''], ['d/l', 'symlink', ''],
      ['d/h', 'link', ''], ['dev/null', 'character-device', ''], [`${'long/'.repeat(30)}file`, 'file', 'deep'],
    ]);
    const a = whole[1].h;
    assert.deepEqual([a.mode, a.uid, a.gid, a.size, a.mtimeSec], [0o4755, 1000, 1001, 1000, Date.parse('2020-01-02T03:04:05Z') / 1000]);
    assert.equal(whole[3].h.linkname, 'a');
    assert.deepEqual([whole[5].h.devmajor, whole[5].h.devminor], [1, 3]);
    for (const chunk of [1, 7, 511, 512, 513, 4096]) assert.deepEqual(parse(tar, chunk), whole, `chunk ${chunk}`);
  });

  test('PAX records: long names, sizes, ids, nanosecond mtimes, binary xattrs', () => {
    const cap = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // not valid UTF-8
    const tar = Buffer.concat([
      paxEntry({ path: `${'p'.repeat(200)}/f`, uid: '3000000', gid: '4000000', mtime: '1600000000.123456789', 'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.x': 'v=1' }),
      fileEntry('short', 'content'),
      paxEntry({ mtime: '-1.5', linkpath: `/${'t'.repeat(150)}` }),
      rawHeader({ name: 'sl', typeflag: '2', linkname: 'ignored' }),
      END_OF_ARCHIVE,
    ]);
    const [f, sl] = parse(tar, 100);
    assert.equal(f.h.name, `${'p'.repeat(200)}/f`);
    assert.deepEqual([f.h.uid, f.h.gid, f.h.mtimeSec, f.h.mtimeNsec], [3000000, 4000000, 1600000000, 123456789]);
    assert.deepEqual(f.h.xattrs, [['security.capability', cap], ['user.x', Buffer.from('v=1')]]);
    assert.equal(f.content.toString(), 'content');
    assert.equal(sl.h.linkname, `/${'t'.repeat(150)}`);
    assert.deepEqual([sl.h.mtimeSec, sl.h.mtimeNsec], [-2, 500000000]);
    assert.deepEqual(sl.h.xattrs, [], 'PAX records apply to one entry only');
  });

  test('GNU long names and links, base-256 numbers, V7 headers', () => {
    const longName = `${'n'.repeat(300)}/file`;
    const longLink = `${'l'.repeat(300)}/target`;
    const tar = Buffer.concat([
      rawHeader({ name: '././@LongLink', typeflag: 'L', size: longName.length + 1, format: 'gnu' }), blocks(`${longName}\0`),
      rawHeader({ name: '././@LongLink', typeflag: 'K', size: longLink.length + 1, format: 'gnu' }), blocks(`${longLink}\0`),
      rawHeader({ name: 'truncated-name', typeflag: '2', format: 'gnu', linkname: 'truncated' }),
      rawHeader({ name: 'big-ids', typeflag: '0', size: 3, uid: 2 ** 40, gid: 7, mtime: 2 ** 36, format: 'gnu', base256: ['uid', 'mtime', 'size'] }), blocks('abc'),
      fileEntry('v7file', 'old', { format: 'v7' }),
      fileEntry('v7dir/', '', { format: 'v7' }),
    ]);
    const [sl, big, v7, v7dir] = parse(tar, 333);
    assert.deepEqual([sl.h.name, sl.h.linkname, sl.h.type], [longName, longLink, 'symlink']);
    assert.deepEqual([big.h.uid, big.h.gid, big.h.mtimeSec, big.content.toString()], [2 ** 40, 7, 2 ** 36, 'abc']);
    assert.deepEqual([v7.h.name, v7.content.toString()], ['v7file', 'old']);
    assert.equal(v7dir.h.type, 'directory', 'a file entry named with a trailing slash is a directory');
  });

  test('header-only types have no body, whatever their size field says; global headers are skipped', () => {
    const tar = Buffer.concat([
      rawHeader({ name: 'sl', typeflag: '2', linkname: 't', size: 1000 }),
      rawHeader({ name: 'PaxHeaders/g', typeflag: 'g', size: 20 }), blocks('16 comment=abcd\n'),
      fileEntry('after', 'yes'),
    ]);
    const entries = parse(tar);
    assert.deepEqual(entries.map((e) => [e.h.name, e.h.size, e.content.toString()]), [['sl', 0, ''], ['after', 3, 'yes']]);
  });

  test('end of archive: two zero blocks, one, or none at an entry boundary; the rest is ignored', () => {
    const one = fileEntry('a', 'a');
    assert.equal(parse(Buffer.concat([one, END_OF_ARCHIVE, Buffer.from('trailing garbage')])).length, 1);
    assert.equal(parse(Buffer.concat([one, Buffer.alloc(512)])).length, 1);
    assert.equal(parse(one).length, 1);
    assert.equal(parse(Buffer.alloc(0)).length, 0);
    rejects400(() => parse(Buffer.concat([Buffer.alloc(512), one])), /zero block followed by data/);
  });

  test('broken archives are 400s', () => {
    rejects400(() => parse(Buffer.alloc(2048, 0x41)), /invalid tar archive/);
    const bad = fileEntry('a', 'a');
    bad[0] ^= 1; // checksum no longer matches
    rejects400(() => parse(bad), /checksum/);
    rejects400(() => parse(fileEntry('a', 'abc').subarray(0, 514)), /Unexpected end of data/);
    rejects400(() => parse(fileEntry('a', 'abc').subarray(0, 300)), /Unexpected end of data/);
    rejects400(() => parse(paxEntry({ path: 'x' })), /Unexpected end of data/);
    rejects400(() => parse(Buffer.concat([rawHeader({ name: 'x', typeflag: 'x', size: 5 }), blocks('junk\n')])), /PAX record/);
    rejects400(() => parse(rawHeader({ name: 'x', typeflag: 'L', size: 2 << 20 })), /too large/);
    rejects400(() => parse(rawHeader({ name: 's', typeflag: 'S' })), /unsupported entry type "S"/);
    rejects400(() => parse(Buffer.concat([paxEntry({ 'GNU.sparse.major': '1' }), fileEntry('s', '')])), /sparse files are not supported/);
  });
});

describe('synchronous gunzip', () => {
  const inflate = (gz: Buffer, chunk = gz.length): Buffer => {
    const out: Buffer[] = [];
    const g = syncGunzip((b) => out.push(Buffer.from(b)));
    assert.ok(g, 'Node\'s zlib handle should be there (Node 20)');
    for (let i = 0; i < gz.length; i += chunk) g.write(gz.subarray(i, i + chunk));
    g.end();
    return Buffer.concat(out);
  };
  const data = Buffer.concat([Buffer.alloc(300_000, 'abc'), randomBytes(700_000)]);

  test('same bytes as zlib, any chunking; concatenated members; trailing zeros', () => {
    const gz = gzipSync(data);
    for (const chunk of [1000, 65536, gz.length]) assert.deepEqual(inflate(gz, chunk), data);
    assert.deepEqual(inflate(Buffer.concat([gzipSync('one '), gzipSync('two')])).toString(), 'one two');
    assert.deepEqual(inflate(Buffer.concat([gz, Buffer.alloc(100)])), data);
  });

  test('bad input is a 400 with zlib\'s words', () => {
    const gz = gzipSync(data);
    rejects400(() => inflate(gz.subarray(0, gz.length - 100)), /^invalid gzip data: unexpected end of file$/);
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 6] ^= 0xff;
    rejects400(() => inflate(corrupt), /invalid gzip data: incorrect data check/);
    rejects400(() => inflate(Buffer.concat([gzipSync('x'), Buffer.from('garbage')])), /invalid gzip data: incorrect header check/);
  });

  test('a consumer that closes it mid-write stops it', () => {
    let calls = 0;
    const g = syncGunzip(() => { calls++; g?.close(); })!;
    g.write(gzipSync(Buffer.alloc(10 << 20))); // many output buffers' worth
    assert.equal(calls, 1);
    g.end(); // no-op once closed
  });
});
