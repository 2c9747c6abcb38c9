// docker cp against a container that fights back. CVE-2018-15664 (moby) and CVE-2019-10152 (podman): a helper in
// the container keeps exchanging a directory with a symlink to "/" (renameat2 RENAME_EXCHANGE, the published
// exploit's method) while the host runs archive GETs and PUTs through that directory; a resolve-then-open engine
// reads or writes the host sooner or later. CVE-2021-41089: cp into a container whose /a is a symlink to / with a
// tar holding a/etc/ mode 0777 must not chmod the host's /etc.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { promises as fs, statSync, existsSync } from 'fs';
import * as path from 'path';
import { engineKinds, makeEngine, importBusybox, Engine, HostMarker, socketRequest, LONG } from './target';
import { RunResult } from '../helpers/daemon';
import { tarOf } from './tar-fixtures';

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

/** The exchanger: swaps /w/real (a directory) and /w/evil (a symlink to /) atomically, forever. Static, so it runs
 * in busybox. */
const SWAPPER_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  for (;;) syscall(SYS_renameat2, AT_FDCWD, "/w/real", AT_FDCWD, "/w/evil", 2 /* RENAME_EXCHANGE */);
}
`;

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'cprace');
    let marker: HostMarker;
    let ctx: string;
    before(async () => {
      await e.start();
      await importBusybox(e);
      marker = new HostMarker('cprace');
      ctx = await fs.mkdtemp('/tmp/berth-sec-cprace-');
      await fs.writeFile(path.join(ctx, 'swapper.c'), SWAPPER_C);
      execFileSync('gcc', ['-static', '-O2', '-o', path.join(ctx, 'swapper'), path.join(ctx, 'swapper.c')]);
      // the container's own copy of the marker's path, so a confined walk finds a file where the host has its secret
      await fs.writeFile(path.join(ctx, 'Dockerfile'), [
        'FROM busybox',
        'COPY swapper /swapper',
        `RUN mkdir -p /w/real${marker.dir} && echo container-file > /w/real${marker.file} && ln -s / /w/evil && ln -s / /a`,
        'CMD ["/swapper"]',
      ].join('\n') + '\n');
      ok(await e.docker(['build', '-q', '-t', 'racer', ctx], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 }), 'build racer');
    });
    after(async () => {
      try { marker.check(); } finally {
        marker.remove();
        await fs.rm(ctx, { recursive: true, force: true });
        await e.stop();
      }
    });

    test('CVE-2018-15664, CVE-2019-10152: archive GET/PUT while a directory is swapped with a symlink to / never touch the host', async () => {
      ok(await e.docker(['run', '-d', '--name', 'racer', 'racer']), 'run racer');
      const calls = LONG ? 2000 : 300;
      const put = tarOf([{ name: 'planted-by-cp', body: 'planted\n' }]);
      let hits = { get: 0, put: 0 };
      const leaks: string[] = [];
      for (let i = 0; i < calls; i++) {
        if (i % 2 === 0) {
          const r = await socketRequest(e.socket, 'GET', `/containers/racer/archive?path=${encodeURIComponent('/w/real' + marker.file)}`);
          if (r.status === 200) hits.get++;
          if (r.text.includes(marker.token)) leaks.push(`GET ${i}: the host file's token came back`);
        } else {
          const r = await socketRequest(e.socket, 'PUT', `/containers/racer/archive?path=${encodeURIComponent('/w/real' + marker.dir)}`, put, { 'Content-Type': 'application/x-tar' });
          if (r.status === 200) hits.put++;
          if (r.status >= 500) leaks.push(`PUT ${i}: ${r.status} ${r.text.slice(0, 100)}`);
        }
        if (existsSync(path.join(marker.dir, 'planted-by-cp'))) { leaks.push(`call ${i}: a file was written into the host directory`); break; }
      }
      assert.deepEqual(leaks, [], leaks.join('\n'));
      marker.check();
      // the race was real: the container's own files were reached through the racing directory
      assert.ok(hits.get > 0 && hits.put > 0, `no call went through (GET ${hits.get}, PUT ${hits.put})`);
      const inside = await e.docker(['exec', 'racer', 'sh', '-c', `ls /w/real${marker.dir} /w/evil${marker.dir} 2>/dev/null | grep -c planted-by-cp`]);
      assert.ok(Number(inside.stdout.trim()) >= 1, `the PUTs landed nowhere in the container: ${inside.stdout}${inside.stderr}`);
      await e.docker(['rm', '-f', 'racer']);
    });

    test('CVE-2021-41089: cp of a tar holding a/etc/ (0777) into a container whose /a → / leaves the host /etc alone', async () => {
      ok(await e.docker(['create', '--name', 'chmodder', 'racer']), 'create');
      const etcBefore = statSync('/etc');
      const probe = `berth-sec-41089-${process.pid}`;
      const tar = tarOf([
        { name: 'a/etc/', type: 'dir', mode: 0o777 },
        { name: `a/etc/${probe}`, body: 'x\n', mode: 0o4777 },
        { name: 'a/tmp/', type: 'dir', mode: 0o700 },
      ]);
      const r = await socketRequest(e.socket, 'PUT', '/containers/chmodder/archive?path=/', tar, { 'Content-Type': 'application/x-tar' });
      assert.ok(r.status < 500, `PUT → ${r.status} ${r.text}`);
      const etcAfter = statSync('/etc');
      assert.equal(etcAfter.mode, etcBefore.mode, `host /etc mode changed to ${(etcAfter.mode & 0o7777).toString(8)}`);
      assert.equal(statSync('/tmp').mode & 0o7777, 0o1777, 'host /tmp mode changed');
      assert.ok(!existsSync(`/etc/${probe}`), 'a file landed in the host /etc');
      // the same through the docker CLI, from a host directory holding such a tree
      const src = path.join(ctx, 'cli41089');
      await fs.mkdir(path.join(src, 'etc'), { recursive: true });
      await fs.chmod(path.join(src, 'etc'), 0o777);
      await fs.writeFile(path.join(src, 'etc', probe), 'y\n');
      const cli = await e.docker(['cp', `${src}/.`, 'chmodder:/a/']);
      assert.ok(!/panic|internal/i.test(cli.stderr), cli.stderr);
      assert.equal(statSync('/etc').mode, etcBefore.mode, 'host /etc mode changed through docker cp');
      assert.ok(!existsSync(`/etc/${probe}`), 'docker cp put a file in the host /etc');
      await fs.rm(`/etc/${probe}`, { force: true });
      await e.docker(['rm', '-f', 'chmodder']);
    });
  });
}
