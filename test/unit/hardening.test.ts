// Unit tests of the hardening helpers (issue 16): runtime versions with known escapes, bounded JSON bodies, the
// create body's shapes, and race-free reads inside a container root (openat2 and the fd-walk fallback alike).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runtimeEscapes } from '../../src/runtime/runtime-versions';
import { jsonDepth, parseJsonBody, MAX_JSON_DEPTH } from '../../src/api/json-body';
import { validateBody } from '../../src/engine/containers/create';
import { readSmallFileInRoot } from '../../src/runtime/open-in-root';
import { EngineError } from '../../src/common/errors';

test('runtime versions with known escapes are refused, with the version needed (CVE-2019-5736, CVE-2024-21626, CVE-2025-52881)', () => {
  const debian = runtimeEscapes('runc', 'runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev');
  assert.match(debian!, /CVE-2025-52881/);
  assert.doesNotMatch(debian!, /CVE-2024-21626/, "Debian's deb12u1 carries the CVE-2024-21626 fix");
  assert.match(debian!, /berth needs runc 1\.2\.8 or newer on the 1\.2 line, 1\.3\.3 or newer on the 1\.3 line, or 1\.4\.0 or newer/);
  assert.match(runtimeEscapes('runc', 'runc version 1.1.11')!, /CVE-2024-21626/);
  assert.match(runtimeEscapes('runc', 'runc version 1.0.0-rc6')!, /CVE-2019-5736/);
  assert.match(runtimeEscapes('runc', 'runc version 1.3.2')!, /CVE-2025-31133/);
  assert.match(runtimeEscapes('runc', 'runc version 1.4.0-rc.2')!, /CVE-2025/);
  for (const ok of ['1.2.8', '1.2.9', '1.3.3', '1.3.4', '1.4.0', '1.5.0', '2.0.0']) assert.equal(runtimeEscapes('runc', `runc version ${ok}`), undefined, ok);
  assert.match(runtimeEscapes('crun', 'crun version 1.4.3\ncommit: x')!, /CVE-2022-27650.*crun 1\.4\.4 or newer/);
  assert.equal(runtimeEscapes('crun', 'crun version 1.8.1\ncommit: f8a096be'), undefined);
  assert.equal(runtimeEscapes('youki', 'youki version 0.1.0'), undefined, 'unknown runtimes are not judged');
  assert.equal(runtimeEscapes('runc', 'garbage'), undefined);
});

test('JSON bodies: nesting is bounded before parsing, strings do not count', () => {
  assert.equal(jsonDepth('{"a":[1,{"b":[]}]}'), 4);
  assert.equal(jsonDepth('{"a":"[[[[[[[[\\"[[["}'), 1);
  assert.equal(jsonDepth('['.repeat(100_000)), MAX_JSON_DEPTH + 1, 'stops counting past the limit');
  const err = (() => { try { parseJsonBody(Buffer.from('['.repeat(100_000) + ']'.repeat(100_000))); } catch (e) { return e; } })();
  assert.ok(err instanceof EngineError && err.status === 400, String(err));
  assert.deepEqual(parseJsonBody(Buffer.from('  ')), {});
  assert.throws(() => parseJsonBody(Buffer.from('{"a":1} x')), (e: EngineError) => e.status === 400);
});

test('create bodies of the wrong shape are 400s with Go\'s wording, never TypeErrors', () => {
  const bad: unknown[] = [
    { Image: 'x', Env: 'A=1' }, { Image: 'x', Labels: { a: 1 } }, { Image: 'x', Labels: [] }, { Image: 'x', Tty: 'yes' },
    { Image: 'x', HostConfig: 5 }, { Image: 'x', HostConfig: { CapAdd: 'ALL' } }, { Image: 'x', HostConfig: { PortBindings: { '80/tcp': 'x' } } },
    { Image: 'x', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } }, { Image: 'x', HostConfig: { Sysctls: { a: 1 } } },
    { Image: 'x', StopTimeout: '10' }, { Image: 'x', Healthcheck: [] },
  ];
  for (const b of bad) {
    assert.throws(() => validateBody(b), (e: EngineError) => e.status === 400 && /^json: cannot unmarshal/.test(e.message), JSON.stringify(b));
  }
  assert.doesNotThrow(() => validateBody({ Image: 'x', Env: ['A=1'], Labels: { a: 'b' }, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8080' }], '81/tcp': null }, Init: null }, Unknown: { deep: [1] } }));
});

for (const how of ['auto', 'walk'] as const) {
  test(`reads inside a container root stay inside it (${how === 'auto' ? 'openat2 RESOLVE_IN_ROOT' : 'fd-relative O_NOFOLLOW walk'})`, () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'berth-oir-'));
    try {
      mkdirSync(path.join(root, 'etc'));
      mkdirSync(path.join(root, 'w'));
      writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
      symlinkSync('/', path.join(root, 'w/evil'));
      symlinkSync('/etc/passwd', path.join(root, 'w/abs'));
      symlinkSync('../../../../../../etc/passwd', path.join(root, 'w/rel'));
      symlinkSync('/dev/zero', path.join(root, 'w/zero'));
      symlinkSync('loop2', path.join(root, 'w/loop1'));
      symlinkSync('loop1', path.join(root, 'w/loop2'));
      execFileSync('mkfifo', [path.join(root, 'w/fifo')]);
      const own = 'root:x:0:0::/root:/bin/sh\n';
      for (const p of ['etc/passwd', '/etc/passwd', 'w/evil/etc/passwd', 'w/abs', 'w/rel', '/w/evil/../../../etc/passwd', 'etc/../../../etc/passwd']) {
        assert.equal(readSmallFileInRoot(root, p, 1 << 20, how), own, p);
      }
      assert.equal(readSmallFileInRoot(root, 'w/zero', 1 << 20, how), undefined, '/dev/zero is not inside the root');
      assert.equal(readSmallFileInRoot(root, 'nope', 1 << 20, how), undefined);
      assert.throws(() => readSmallFileInRoot(root, 'w/fifo', 1 << 20, how), /not a regular file/);
      assert.throws(() => readSmallFileInRoot(root, 'w/loop1', 1 << 20, how), (e: NodeJS.ErrnoException) => e.code === 'ELOOP');
      assert.throws(() => readSmallFileInRoot(root, 'etc/passwd', 4, how), /larger than/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
