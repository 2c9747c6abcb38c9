// CVE-2019-5736: a container whose entrypoint and /bin/sh are `#!/proc/self/exe` scripts makes the kernel execute
// whatever binary starts them — the runtime, the shim, the daemon — and a process in the container then writes to
// that binary through /proc/<pid>/exe. crun, runc, berth-shim and node must stay byte for byte what they were.
// Also: the engine refuses runtime versions with known escapes and names the version it needs.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'crypto';
import { promises as fs, readFileSync, existsSync } from 'fs';
import * as path from 'path';
import { engineKinds, makeEngine, importBusybox, Engine, LONG } from './target';
import { REPO, RunResult } from '../helpers/daemon';

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

/** Every binary a container start or exec runs on the host. */
function hostBinaries(): string[] {
  return ['/usr/bin/crun', '/usr/sbin/runc', path.join(REPO, 'src/runtime/shim/berth-shim'), process.execPath, '/usr/bin/containerd-shim-runc-v2', '/usr/bin/containerd', '/usr/sbin/dockerd', '/usr/bin/docker-init', '/usr/sbin/docker-init']
    .filter((p) => existsSync(p));
}

const digestOf = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'selfexe');
    let ctx: string;
    before(async () => {
      await e.start();
      await importBusybox(e);
      ctx = await fs.mkdtemp('/tmp/berth-sec-selfexe-');
      // the writer tries every process's exe (the runtime's, while it runs or right after) for writing, forever
      await fs.writeFile(path.join(ctx, 'overwrite.sh'), [
        '#!/bin/busybox sh',
        'while :; do',
        '  for p in /proc/[0-9]*; do',
        '    [ "$p" = /proc/$$ ] && continue',
        '    /bin/busybox sh -c "echo PWNED-BY-CONTAINER >> $p/exe" 2>/dev/null',
        '  done',
        'done',
      ].join('\n') + '\n', { mode: 0o755 });
      await fs.writeFile(path.join(ctx, 'selfexe'), '#!/proc/self/exe\n', { mode: 0o755 });
      await fs.writeFile(path.join(ctx, 'Dockerfile'), [
        'FROM busybox',
        'COPY overwrite.sh /overwrite.sh',
        'COPY selfexe /entry',
        'RUN rm /bin/sh',
        'COPY selfexe /bin/sh',
        'ENTRYPOINT ["/entry"]',
      ].join('\n') + '\n');
      ok(await e.docker(['build', '-q', '-t', 'selfexe', ctx], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 180_000 }), 'build selfexe');
    });
    after(async () => {
      await fs.rm(ctx, { recursive: true, force: true });
      await e.stop();
    });

    test('CVE-2019-5736: #!/proc/self/exe entrypoints and execs leave crun, runc, berth-shim and node unchanged', async () => {
      const bins = hostBinaries();
      const before = new Map(bins.map((b) => [b, digestOf(b)]));
      ok(await e.docker(['run', '-d', '--name', 'writer', '--entrypoint', '/overwrite.sh', 'selfexe']), 'run writer');
      const rounds = LONG ? 50 : 8;
      for (let i = 0; i < rounds; i++) {
        // the entrypoint is a #!/proc/self/exe script: whatever runs it, it must not be a host binary the writer can reach
        await e.docker(['run', '--rm', 'selfexe'], { timeoutMs: 60_000 });
        await e.docker(['exec', 'writer', '/bin/sh'], { timeoutMs: 60_000 });
        await e.docker(['exec', 'writer', '/entry'], { timeoutMs: 60_000 });
      }
      const changed = bins.filter((b) => digestOf(b) !== before.get(b));
      assert.deepEqual(changed, [], `host binaries changed: ${changed.join(', ')}`);
      assert.equal((await e.api('GET', '/_ping')).status, 200);
      await e.docker(['rm', '-f', 'writer']);
    });

    if (kind === 'berth') {
      test('runtime versions with known escapes are refused, naming the version needed', async () => {
        const info = (await e.api('GET', '/info')).body;
        const runcOut = existsSync('/usr/sbin/runc') ? require('child_process').execFileSync('/usr/sbin/runc', ['--version'], { encoding: 'utf8' }) : '';
        const { runtimeEscapes } = await import('../../src/runtime/runtime-versions');
        const problem = runcOut ? runtimeEscapes('runc', runcOut) : undefined;
        if (problem) {
          assert.ok(!info.Runtimes.runc, `a runc with known escapes is offered: ${JSON.stringify(info.Runtimes)}`);
          assert.ok(info.Warnings.some((w: string) => w.includes(problem)), JSON.stringify(info.Warnings));
          const r = await e.docker(['run', '--rm', '--runtime', 'runc', 'busybox', 'true']);
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /has known container escapes .*berth needs runc \d/);
        } else if (runcOut) {
          assert.ok(info.Runtimes.runc, 'a safe runc is not offered');
        }
        assert.notEqual(info.DefaultRuntime, problem ? 'runc' : '');
      });
    }
  });
}
