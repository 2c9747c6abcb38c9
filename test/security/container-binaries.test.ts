// The engine never runs a container's binaries or loads its libraries on the host side. CVE-2019-14271: docker cp
// ran docker-tar chrooted into the container, and glibc loaded the image's libnss_files.so.2 into it; CVE-2014-9357:
// decompressing with the image's own xz. This image plants marker writers at /usr/bin/{xz,gzip,zstd,tar}, /bin/{sh,tar,
// gzip}, an /etc/ld.so.preload library and libnss_files.so.2: cp, export, commit, diff, top, save and a build
// (COPY/ADD only: RUN steps belong to the container) must leave no marker, on the host or in the container.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import { promises as fs, existsSync, readdirSync } from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { engineKinds, makeEngine, importBusybox, Engine, socketRequest } from './target';
import { RunResult } from '../helpers/daemon';
import { tarOf } from './tar-fixtures';

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'bins');
    const token = `berth-sec-ran-${process.pid}-${kind}`;
    const hostMarker = `/tmp/${token}`;
    let ctx: string;
    before(async () => {
      await e.start();
      await importBusybox(e);
      ctx = await fs.mkdtemp('/tmp/berth-sec-bins-');
      // a library whose constructor leaves the marker: for ld.so.preload and as libnss_files.so.2
      await fs.writeFile(path.join(ctx, 'evil.c'), `#include <fcntl.h>\n#include <unistd.h>\n__attribute__((constructor)) static void ran(void) {\n  int fd = open("${hostMarker}", O_WRONLY | O_CREAT | O_APPEND, 0644);\n  if (fd >= 0) { write(fd, "lib\\n", 4); close(fd); }\n}\n`);
      execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', path.join(ctx, 'evil.so'), path.join(ctx, 'evil.c')]);
      await fs.writeFile(path.join(ctx, 'writer'), `#!/bin/busybox sh\necho "$0 $*" >> ${hostMarker}\nexit 0\n`, { mode: 0o755 });
      await fs.writeFile(path.join(ctx, 'ld.so.preload'), '/lib/evil.so\n');
      await fs.writeFile(path.join(ctx, 'payload.tar.gz'), gzipSync(tarOf([{ name: 'payload/', type: 'dir' }, { name: 'payload/file', body: 'payload\n' }])));
      await fs.writeFile(path.join(ctx, 'Dockerfile'), [
        'FROM busybox',
        'RUN rm -f /usr/bin/xz /usr/bin/gzip /usr/bin/zstd /usr/bin/tar /bin/tar /bin/gzip /usr/bin/unxz /usr/bin/gunzip /bin/gunzip /usr/bin/ps /bin/ps /bin/sh && mkdir -p /lib/x86_64-linux-gnu',
        ...['/usr/bin/xz', '/usr/bin/gzip', '/usr/bin/zstd', '/usr/bin/tar', '/bin/tar', '/bin/gzip', '/usr/bin/gunzip', '/bin/gunzip', '/bin/ps', '/bin/sh'].map((p) => `COPY writer ${p}`),
        'COPY evil.so /lib/evil.so',
        'COPY evil.so /lib/x86_64-linux-gnu/libnss_files.so.2',
        'COPY evil.so /lib/libnss_files.so.2',
        'COPY ld.so.preload /etc/ld.so.preload',
        'CMD ["sleep", "600"]',
      ].join('\n') + '\n');
      ok(await e.docker(['build', '-q', '-t', 'planted', ctx], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 }), 'build planted');
    });
    after(async () => {
      await fs.rm(ctx, { recursive: true, force: true });
      await fs.rm(hostMarker, { force: true });
      await e.stop();
    });

    test('CVE-2019-14271, CVE-2014-9357: cp, export, commit, diff, top, save and build never run the image\'s binaries or libraries', async () => {
      ok(await e.docker(['run', '-d', '--name', 'planted', 'planted']), 'run');
      const out = path.join(ctx, 'out');
      await fs.mkdir(out);
      // cp both ways (a directory, a single file, an archive put compressed), with a user lookup (-a)
      ok(await e.docker(['cp', 'planted:/etc', path.join(out, 'etc')]), 'cp out dir');
      ok(await e.docker(['cp', 'planted:/etc/passwd', path.join(out, 'passwd')]), 'cp out file');
      ok(await e.docker(['cp', '-a', path.join(ctx, 'Dockerfile'), 'planted:/tmp/']), 'cp -a in');
      const gz = await socketRequest(e.socket, 'PUT', '/containers/planted/archive?path=/tmp', await fs.readFile(path.join(ctx, 'payload.tar.gz')), { 'Content-Type': 'application/x-tar' });
      assert.equal(gz.status, 200, gz.text);
      ok(await e.docker(['export', '-o', path.join(out, 'export.tar'), 'planted']), 'export');
      ok(await e.docker(['diff', 'planted']), 'diff');
      ok(await e.docker(['top', 'planted']), 'top');
      ok(await e.docker(['top', 'planted', '-o', 'pid,user,comm']), 'top -o');
      ok(await e.docker(['commit', 'planted', 'planted:committed']), 'commit');
      ok(await e.docker(['save', '-o', path.join(out, 'save.tar'), 'planted:committed']), 'save');
      // a build from it: COPY, ADD with auto-extraction, and a user lookup (USER + COPY --chown)
      const bctx = path.join(ctx, 'bctx');
      await fs.mkdir(bctx);
      await fs.copyFile(path.join(ctx, 'payload.tar.gz'), path.join(bctx, 'payload.tar.gz'));
      await fs.writeFile(path.join(bctx, 'Dockerfile'), 'FROM planted:committed\nCOPY --chown=nobody:nogroup Dockerfile /d\nADD payload.tar.gz /x/\nUSER nobody\nWORKDIR /work\n');
      ok(await e.docker(['build', '-q', '-t', 'planted:built', bctx], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 }), 'build');
      ok(await e.docker(['exec', 'planted', 'ls', '/tmp/payload/file']), 'the compressed archive was extracted (by the host)');
      // no marker anywhere: on the host, nor in the container (a chrooted helper writes into its root)
      assert.ok(!existsSync(hostMarker), `the host marker exists: ${existsSync(hostMarker) ? await fs.readFile(hostMarker, 'utf8') : ''}`);
      const inside = await e.docker(['exec', 'planted', 'ls', '/tmp']);
      assert.ok(!inside.stdout.includes(token), `the container's /tmp has the marker: ${inside.stdout}`);
      const built = await e.docker(['run', '--rm', '--entrypoint', 'ls', 'planted:built', '/tmp']);
      assert.ok(!built.stdout.includes(token), `the built image has the marker: ${built.stdout}`);
      assert.ok(!readdirSync('/tmp').some((f) => f.startsWith(token)));
      await e.docker(['rm', '-f', 'planted']);
    });
  });
}
