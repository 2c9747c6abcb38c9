// The process a container gets, as a container would inspect it: capabilities (CVE-2022-24769), masked and
// read-only /proc paths and a fresh /dev, descriptors leaked from the engine or the runtime (CVE-2024-21626),
// abstract unix sockets reachable from --network host (CVE-2020-15257), and state directories other host users can
// walk into (CVE-2021-41091).
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs, readdirSync, readlinkSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { engineKinds, makeEngine, importBusybox, Engine } from './target';
import { runCmd, RunResult } from '../helpers/daemon';

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

/** CapInh/CapPrm/CapEff/CapBnd/CapAmb of a /proc/<pid>/status text. */
function caps(status: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const m of status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)) out[m[1]] = BigInt('0x' + m[2]);
  return out;
}

/** The descriptors a process inside the container holds, as "fd -> target" lines (its own /proc walk left out). */
// `ls` is a child of the shell: the shell holds nothing extra while it waits (a `$(…)` would add its own pipe).
const FD_SCRIPT = 'ls -l /proc/$$/fd; true';

function leakedFds(listing: string): string[] {
  const lines = [...listing.matchAll(/ (\d+) -> (.*)$/gm)].map((m) => `${m[1]} ${m[2].trim()}`);
  if (!lines.length) return [`no descriptors listed: ${listing}`];
  return lines.filter((l) => {
    const [fd, target] = [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)];
    if (['0', '1', '2'].includes(fd)) return false; // stdio: pipes, the pty or /dev/null
    // busybox sh keeps a descriptor on the script it reads (-c: none) and the `cd` directory walk: nothing else
    return !(target === '/dev/null' || /^\/dev\/pts\/\d+$/.test(target) || target === '/dev/console');
  });
}

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'spec');
    before(async () => {
      await e.start();
      await importBusybox(e);
    });
    after(() => e.stop());

    test('CVE-2022-24769: CapInh and CapAmb are 0 for run, exec and --user', async () => {
      const outputs: Record<string, string> = {
        run: ok(await e.docker(['run', '--rm', 'busybox', 'cat', '/proc/self/status']), 'run'),
        runUser: ok(await e.docker(['run', '--rm', '--user', '1000:1000', 'busybox', 'cat', '/proc/self/status']), 'run --user'),
        runCapAdd: ok(await e.docker(['run', '--rm', '--cap-add', 'NET_ADMIN', 'busybox', 'cat', '/proc/self/status']), 'run --cap-add'),
      };
      ok(await e.docker(['run', '-d', '--name', 'capbox', 'busybox', 'sleep', '600']), 'run -d');
      outputs.exec = ok(await e.docker(['exec', 'capbox', 'cat', '/proc/self/status']), 'exec');
      outputs.execUser = ok(await e.docker(['exec', '--user', '1000', 'capbox', 'cat', '/proc/self/status']), 'exec --user');
      // exec --privileged asks for every capability; where the host's root lacks some (this CI machine's lacks
      // CAP_SYS_RESOURCE), runc refuses the exec: then there is nothing to check
      const priv = await e.docker(['exec', '--privileged', 'capbox', 'cat', '/proc/self/status']);
      if (priv.code === 0) outputs.execPriv = priv.stdout;
      for (const [what, status] of Object.entries(outputs)) {
        const c = caps(status);
        assert.equal(c.CapInh, 0n, `${what}: CapInh ${c.CapInh?.toString(16)}`);
        assert.equal(c.CapAmb, 0n, `${what}: CapAmb ${c.CapAmb?.toString(16)}`);
        if (/User/.test(what)) {
          assert.equal(c.CapEff, 0n, `${what}: a non-root user has effective caps ${c.CapEff?.toString(16)}`);
          assert.equal(c.CapPrm, 0n, `${what}: a non-root user has permitted caps ${c.CapPrm?.toString(16)}`);
        }
      }
      // docker's default set: no CAP_SYS_ADMIN (21), CAP_SYS_MODULE (16), CAP_SYS_PTRACE (19), CAP_DAC_READ_SEARCH (2)
      const runCaps = caps(outputs.run);
      for (const bit of [2n, 16n, 19n, 21n]) assert.equal((runCaps.CapBnd >> bit) & 1n, 0n, `bounding set has capability ${bit}`);
      await e.docker(['rm', '-f', 'capbox']);
    });

    test('masked paths are unreadable, /proc/sys is read-only, /dev is a fresh tmpfs', async () => {
      const script = [
        'for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do [ -e $p ] && echo "$p $(head -c 64 $p | wc -c)"; done',
        'echo "firmware $(ls -A /sys/firmware 2>/dev/null | wc -l)"',
        'grep -E " /proc/(sys|sysrq-trigger|irq|bus|fs) " /proc/mounts',
        'grep " /dev " /proc/mounts',
        'echo 1 > /proc/sys/vm/drop_caches && echo WROTE-PROC-SYS',
        'echo h > /proc/sysrq-trigger && echo WROTE-SYSRQ',
        'ls -A /dev | tr "\\n" " "',
      ].join('; ');
      const out = (await e.docker(['run', '--rm', 'busybox', 'sh', '-c', script])).stdout;
      for (const m of out.matchAll(/^(\/proc\/\S+) (\d+)$/gm)) assert.equal(m[2], '0', `${m[1]} is readable (${m[2]} bytes)`);
      assert.match(out, /^firmware 0$/m, 'the host /sys/firmware is visible');
      for (const p of ['sys', 'sysrq-trigger', 'irq', 'bus', 'fs']) {
        const line = out.split('\n').find((l) => l.split(' ')[1] === `/proc/${p}`);
        if (line) assert.match(line.split(' ')[3], /(^|,)ro(,|$)/, `/proc/${p} is not read-only: ${line}`);
      }
      assert.ok(out.split('\n').some((l) => l.split(' ')[1] === '/proc/sys'), `/proc/sys is not a read-only mount:\n${out}`);
      assert.doesNotMatch(out, /WROTE-/, 'a container wrote to /proc/sys or /proc/sysrq-trigger');
      const devLine = out.split('\n').find((l) => l.split(' ')[1] === '/dev');
      assert.ok(devLine && devLine.split(' ')[2] === 'tmpfs', `/dev is not a tmpfs: ${devLine}`);
      const devs = (out.trim().split('\n').pop() ?? '').trim().split(/\s+/);
      const hostOnly = devs.filter((d) => /^(vd|sd|nvme|loop|mem|kmem|port|kmsg|dm-|mapper|disk|cpu|input|snd|dri|kvm|fuse|hpet|rtc|watchdog|nbd)/.test(d));
      assert.deepEqual(hostOnly, [], `host devices inside the container's /dev: ${devs.join(' ')}`);
    });

    test('CVE-2024-21626: inside run and exec only stdio, the pty or /dev/null are open', async () => {
      const listings: Record<string, string> = {
        run: (await e.docker(['run', '--rm', 'busybox', 'sh', '-c', FD_SCRIPT])).stdout,
        runInput: (await e.docker(['run', '--rm', '-i', 'busybox', 'sh', '-c', FD_SCRIPT], { input: '' })).stdout,
        runTty: (await e.docker(['run', '--rm', '-t', 'busybox', 'sh', '-c', FD_SCRIPT])).stdout.replace(/\r/g, ''),
      };
      ok(await e.docker(['run', '-d', '--name', 'fdbox', 'busybox', 'sleep', '600']), 'run -d');
      listings.exec = (await e.docker(['exec', 'fdbox', 'sh', '-c', FD_SCRIPT])).stdout;
      listings.execTty = (await e.docker(['exec', '-t', 'fdbox', 'sh', '-c', FD_SCRIPT])).stdout.replace(/\r/g, '');
      listings.execUser = (await e.docker(['exec', '--user', '1000', 'fdbox', 'sh', '-c', FD_SCRIPT])).stdout;
      // the container's init (pid 1) too
      listings.init = (await e.docker(['exec', 'fdbox', 'ls', '-l', '/proc/1/fd'])).stdout;
      for (const [what, listing] of Object.entries(listings)) {
        assert.ok(listing.trim(), `${what}: no fd listing`);
        assert.deepEqual(leakedFds(listing), [], `${what} holds descriptors beyond stdio:\n${listing}`);
      }
      await e.docker(['rm', '-f', 'fdbox']);
    });

    test('CVE-2024-21626: -w /proc/self/fd/N and WORKDIR /proc/self/fd/N never start in a host directory', async () => {
      const escaped: string[] = [];
      for (let n = 3; n <= 12; n++) {
        const r = await e.docker(['run', '--rm', '-w', `/proc/self/fd/${n}`, 'busybox', 'sh', '-c', 'ls -d ../../../../etc/berth-sec-probe ../../../../tmp/berth-sec-marker* 2>/dev/null; pwd']);
        if (r.code === 0) escaped.push(`-w /proc/self/fd/${n} started (exit 0): ${r.stdout.trim()}`);
      }
      assert.deepEqual(escaped, [], escaped.join('\n'));
      const built: string[] = [];
      const ctx = await fs.mkdtemp('/tmp/berth-sec-wd-');
      try {
        for (const n of [3, 7, 8]) {
          await fs.writeFile(path.join(ctx, 'Dockerfile'), `FROM busybox\nWORKDIR /proc/self/fd/${n}\nRUN pwd; ls ../../../../ > /listing\n`);
          const r = await e.docker(['build', '-q', '-t', `wd${n}`, ctx], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
          if (r.code === 0) built.push(`WORKDIR /proc/self/fd/${n} built: ${r.stdout}`);
        }
      } finally { await fs.rm(ctx, { recursive: true, force: true }); }
      assert.deepEqual(built, [], built.join('\n'));
    });

    test('CVE-2020-15257: the engine holds no abstract unix socket a --network host container could reach', async () => {
      ok(await e.docker(['run', '-d', '--name', 'absbox', 'busybox', 'sleep', '600']), 'run -d');
      const visible = ok(await e.docker(['run', '--rm', '--network', 'host', 'busybox', 'cat', '/proc/net/unix']), 'run --network host');
      const abstract = new Map<string, string>(); // inode → @name, as the host-network container sees them
      for (const line of visible.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length >= 8 && f[7].startsWith('@')) abstract.set(f[6], f[7]);
      }
      // the engine's processes: the daemon and everything below it (shims, the runtime's helpers)
      const ours = engineProcesses(e.pid());
      const held: string[] = [];
      for (const pid of ours) {
        for (const fd of safeList(`/proc/${pid}/fd`)) {
          const target = safeLink(`/proc/${pid}/fd/${fd}`);
          const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
          if (inode && abstract.has(inode)) held.push(`${pid} (${safeRead(`/proc/${pid}/comm`).trim()}): ${abstract.get(inode)}`);
        }
      }
      assert.deepEqual(held, [], `abstract sockets of the engine visible to a --network host container:\n${held.join('\n')}`);
      await e.docker(['rm', '-f', 'absbox']);
    });

    test('CVE-2021-41091: the data root and exec root are not traversable by other users', async () => {
      ok(await e.docker(['run', '-d', '--name', 'rootsbox', 'busybox', 'sleep', '600']), 'run -d');
      // the test's own temp dir is 0700; open it up so only the engine's own modes stand between a user and its state
      await fs.chmod(e.dir, 0o755);
      try {
        for (const root of [e.dataRoot, e.execRoot]) {
          const mode = statSync(root).mode & 0o777;
          assert.equal(mode & 0o007, 0, `${root} is mode ${mode.toString(8)}: other users may enter it`);
        }
        const nobody = await runCmd('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'find', e.dataRoot, e.execRoot, '-maxdepth', '3']);
        const seen = nobody.stdout.trim().split('\n').filter((l) => l && l !== e.dataRoot && l !== e.execRoot);
        assert.deepEqual(seen, [], `user nobody listed engine state:\n${seen.slice(0, 10).join('\n')}`);
      } finally {
        await fs.chmod(e.dir, 0o700);
        await e.docker(['rm', '-f', 'rootsbox']);
      }
    });

    if (kind === 'berth') {
      test('CVE-2021-41091: roots left 755 by an older engine or by hand are closed (710) at daemon start', async () => {
        const old = makeEngine('berth', 'oldroots');
        await fs.mkdir(old.dataRoot, { recursive: true, mode: 0o755 });
        await fs.mkdir(old.execRoot, { recursive: true, mode: 0o755 });
        await fs.chmod(old.dataRoot, 0o755);
        await fs.chmod(old.execRoot, 0o755);
        try {
          await old.start();
          for (const root of [old.dataRoot, old.execRoot]) {
            const st = statSync(root);
            assert.equal(st.mode & 0o777, 0o710, `${root} is ${(st.mode & 0o777).toString(8)} after start`);
            assert.equal(st.uid, 0);
            assert.equal(st.gid, 0);
          }
        } finally {
          await old.stop();
        }
      });
    }
  });
}

/** The daemon and all of its descendants (shims are reparented to the daemon as subreaper, or started by it). */
function engineProcesses(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of safeList('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const stat = safeRead(`/proc/${p}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(p));
  }
  const out: number[] = [];
  const walk = (pid: number) => { out.push(pid); for (const c of children.get(pid) ?? []) walk(c); };
  walk(root);
  // berth's shims detach from the daemon (they outlive it): find them by name too
  for (const p of safeList('/proc')) if (/^\d+$/.test(p) && /^berth-shim|^containerd-shim/.test(safeRead(`/proc/${p}/comm`))) out.push(Number(p));
  return [...new Set(out)];
}

function safeList(dir: string): string[] { try { return readdirSync(dir); } catch { return []; } }
function safeLink(p: string): string { try { return readlinkSync(p); } catch { return ''; } }
function safeRead(p: string): string { try { return readFileSync(p, 'utf8'); } catch { return ''; } }
