// The namespaces rootless berth lives in: one user namespace (mapping the user to 0 and the subordinate ids from 1
// on), with a mount and a network namespace owned by it. A small holder process keeps them: the daemon enters them
// with nsenter, so a daemon that crashes is started again into the same namespaces, where its containers still run.
import { spawn, ChildProcess, execFile } from 'child_process';
import { promises as fs } from 'fs';
import { IdRange, mapArgs } from './subids';

export interface Holder { pid: number; proc: ChildProcess; userNs: string }

function execQuiet(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

/**
 * Starts the holder: `unshare` makes the namespaces, then waits (its `read`) until newuidmap/newgidmap have
 * written the id maps, then becomes `sleep infinity`. It dies with the parent (parent-death signal), so a killed
 * parent leaves no namespace behind unless containers still run in it.
 */
export async function startHolder(opts: { uid: number; gid: number; subuids: IdRange[]; subgids: IdRange[]; newuidmap: string; newgidmap: string }): Promise<Holder> {
  const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', '--user', '--mount', '--net', '--propagation', 'private', '--',
    'sh', '-c', 'echo ready; read _ || exit 1; exec sleep infinity'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => { stderr += String(d); });
  const failed = () => new Error(`could not create the user namespace: ${stderr.trim() || `unshare exited with ${proc.exitCode}`}`);
  try {
    await new Promise<void>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', () => reject(failed()));
      proc.stdout!.once('data', () => resolve());
    });
    const pid = proc.pid!;
    await execQuiet(opts.newuidmap, [String(pid), ...mapArgs(opts.uid, opts.subuids)]);
    await execQuiet(opts.newgidmap, [String(pid), ...mapArgs(opts.gid, opts.subgids)]);
    proc.stdin!.write('go\n');
    const userNs = await fs.readlink(`/proc/${pid}/ns/user`);
    proc.removeAllListeners('exit');
    return { pid, proc, userNs };
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
}

/** The command that runs `argv` inside the holder's namespaces as their root (the user's own uid outside). */
export function enterArgs(holderPid: number, argv: string[]): string[] {
  return ['-U', '-m', '-n', '-t', String(holderPid), '--preserve-credentials', '--', 'setpriv', '--pdeathsig', 'TERM', '--', ...argv];
}

/** Processes living in the user namespace `userNs` (an `user:[inode]` link), the holder included. */
export async function processesIn(userNs: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const link = await fs.readlink(`/proc/${name}/ns/user`).catch(() => '');
    if (link === userNs) out.push(Number(name));
  }
  return out;
}

/** Kills every process of the namespace (containers, shims, the holder): rootless berth's stop, as rootless Docker's
 * service stop does. Waits until none is left (at most ~5 s). */
export async function killAll(userNs: string): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = await processesIn(userNs);
    if (!pids.length) return;
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await new Promise((r) => setTimeout(r, 100));
  }
}
