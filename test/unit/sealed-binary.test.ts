// The sealed in-memory copy of the runtime (src/runtime/sealed-binary.ts): sealed exactly as crun's own copy (so
// crun does not copy itself again), unwritable through its /proc path, and given up once the binary on disk changes.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, openSync, writeSync, closeSync, ftruncateSync, utimesSync } from 'fs';
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { SealedBinary, CRUN_MEMFD_SEALS } from '../../src/runtime/sealed-binary';
import { loadLibc } from '../../src/common/libc';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-unit-sealed-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the copy runs, carries crun\'s seals, and can be neither written nor resized', () => {
  const src = path.join(dir, 'tool');
  writeFileSync(src, '#!/bin/sh\necho sealed-ok "$@"\n', { mode: 0o755 });
  const sealed = SealedBinary.create(src)!;
  assert.ok(sealed, 'no sealed copy');
  const p = sealed.path;
  assert.match(p, new RegExp(`^/proc/${process.pid}/fd/\\d+$`));
  assert.equal(execFileSync(p, ['x'], { encoding: 'utf8' }), 'sealed-ok x\n');
  const fd = Number(p.split('/').pop());
  const { fcntl } = loadLibc<{ fcntl(fd: number, cmd: number, ...a: unknown[]): number }>({ fcntl: 'int fcntl(int fd, int cmd, ...)' });
  assert.equal(fcntl(fd, 1034 /* F_GET_SEALS */), CRUN_MEMFD_SEALS);
  // what a process reaching /proc/<pid>/exe of a runtime started from it would try
  assert.throws(() => { const w = openSync(p, 'r+'); try { writeSync(w, 'PWNED'); } finally { closeSync(w); } }, /EPERM|EACCES|ETXTBSY/);
  assert.throws(() => { const w = openSync(p, 'r+'); try { ftruncateSync(w, 0); } finally { closeSync(w); } }, /EPERM|EACCES|ETXTBSY/);
  assert.equal(readFileSync(p, 'utf8'), readFileSync(src, 'utf8'));
});

test('once the binary on disk changes (an upgrade), the disk path is used again', () => {
  const src = path.join(dir, 'tool2');
  writeFileSync(src, '#!/bin/sh\necho v1\n', { mode: 0o755 });
  const sealed = SealedBinary.create(src)!;
  assert.notEqual(sealed.path, src);
  writeFileSync(src, '#!/bin/sh\necho v2 upgraded\n', { mode: 0o755 });
  utimesSync(src, new Date(), new Date(Date.now() + 5000));
  assert.equal(sealed.path, src);
  assert.equal(execFileSync(sealed.path, { encoding: 'utf8' }), 'v2 upgraded\n');
});

test('no copy of a binary that is not there (the caller runs the path, which fails as it would have)', () => {
  assert.equal(SealedBinary.create(path.join(dir, 'missing')), undefined);
});
