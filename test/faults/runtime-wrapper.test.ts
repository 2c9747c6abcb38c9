// Fault: the OCI runtime fails at create, or the container's init dies right after create (before start). The
// daemon runs with two wrappers around its real runtime (`--add-runtime`): `failing` refuses every create/run,
// `initkill` creates, SIGKILLs the container's init, then starts. Each start gives a clear error, and nothing is
// left behind: no shim, mount, veth, DNAT rule, cgroup, IP reservation or runtime state; `run --rm` leaves no
// container; the name is reusable.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readdirSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, RunResult } from '../helpers/daemon';
import { leakReport } from './leaks';

const canRun = process.getuid?.() === 0;
const T = { skip: canRun ? false : 'needs root', timeout: 120_000 };
const d = new TestDaemon('rtwrap');
let dir = '';
const known: string[] = [];

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };

function wrapper(mode: 'fail' | 'initkill', real: string): string {
  return `#!/bin/bash
# test/faults wrapper around ${real}: ${mode}
real=${real}
args=("$@"); cmd=; for a in "$@"; do case "$a" in run|create) cmd=$a; break;; esac; done
[ -z "$cmd" ] && exec "$real" "$@"
${mode === 'fail' ? 'echo "wrapper: injected runtime failure at $cmd" >&2; exit 1' : `
out=(); root=(); pidfile=; id="\${args[-1]}"
[ "\${args[0]}" = --root ] && root=(--root "\${args[1]}")
for ((i=0; i<\${#args[@]}; i++)); do
  a="\${args[i]}"
  case "$a" in run) out+=(create);; --detach) ;; --pid-file) pidfile="\${args[i+1]}"; out+=("$a");; *) out+=("$a");; esac
done
"$real" "\${out[@]}" || exit $?
kill -9 "$(cat "$pidfile")"
sleep 0.2
exec "$real" "\${root[@]}" start "$id"`}
`;
}

before(async () => {
  if (!canRun) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'berth-rtwrap-'));
  const real = existsSync('/usr/bin/crun') ? '/usr/bin/crun' : '/usr/sbin/runc';
  for (const mode of ['fail', 'initkill'] as const) writeFileSync(path.join(dir, mode), wrapper(mode, real), { mode: 0o755 });
  d.extraArgs = ['--add-runtime', `failing=${path.join(dir, 'fail')}`, '--add-runtime', `initkill=${path.join(dir, 'initkill')}`];
  await d.start();
  await d.loadBusybox();
});
after(async () => {
  if (!canRun) return;
  await d.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function noLeaks(what: string): Promise<void> {
  const problems = await leakReport(d, { known });
  for (const rt of ['failing', 'initkill']) {
    const state = path.join(d.execRoot, `runtime-${rt}`);
    for (const f of existsSync(state) ? readdirSync(state) : []) problems.push(`runtime state left: ${state}/${f}`);
  }
  assert.deepEqual(problems, [], `${what}: leftovers:\n${problems.join('\n')}`);
}

for (const rt of ['failing', 'initkill']) {
  test(`fault: runtime wrapper "${rt}" — start fails with a clear error, nothing left, name reusable`, T, async () => {
    const name = `w-${rt}`;
    const id = ok(await d.docker(['create', '--name', name, '--runtime', rt, '-p', '18080:80', 'busybox', 'sleep', '60']), 'create');
    known.push(id);
    const r = await d.docker(['start', name]);
    assert.notEqual(r.code, 0, 'start succeeded');
    assert.match(r.stderr, /Error response from daemon: failed to create task for container: OCI runtime create failed: .+/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
    if (rt === 'failing') assert.match(r.stderr, /injected runtime failure/);
    const st = (await d.api('GET', `/containers/${id}/json`)).body.State;
    assert.notEqual(st.Status, 'running');
    assert.notEqual(st.Error, '');
    await noLeaks(`${rt}: after the failed start`);
    ok(await d.docker(['rm', name]), 'rm');
    // the name is reusable, and the normal runtime still works with the same port
    ok(await d.docker(['run', '--rm', '--name', name, '-p', '18080:80', 'busybox', 'true']), 'run with the default runtime');
    // run --rm with the broken runtime: an error, and no container stays
    const rr = await d.docker(['run', '--rm', '--runtime', rt, '--name', `${name}-rm`, 'busybox', 'true']);
    assert.notEqual(rr.code, 0);
    assert.equal((await d.api('GET', `/containers/${name}-rm/json`)).status, 404, 'the --rm container stayed');
    await noLeaks(`${rt}: after run --rm`);
  });
}

test('fault: an unknown runtime, or a path as the runtime name, is refused at create', T, async () => {
  for (const rt of ['nosuch', '/bin/sh']) {
    const r = await d.api('POST', '/containers/create', { Image: 'busybox', HostConfig: { Runtime: rt } });
    assert.equal(r.status, 400, `${rt}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.message, /unknown or invalid runtime name/);
  }
});
