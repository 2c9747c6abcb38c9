// docker top: the host's `ps` output, filtered to the processes in the container's cgroup.
import { promises as fs } from 'fs';
import { conflict, invalidParameter, systemError } from '../../common/errors';
import { run } from '../../runtime/exec';
import type { ContainerRecord } from './types';

async function containerPids(initPid: number): Promise<Set<number>> {
  // The init process's cgroup (any hierarchy) lists every process of the container.
  const lines = (await fs.readFile(`/proc/${initPid}/cgroup`, 'utf8')).trim().split('\n');
  const candidates: string[] = [];
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (controllers === '') candidates.push(`/sys/fs/cgroup/unified${path}`, `/sys/fs/cgroup${path}`);
    else if (controllers.includes('pids')) candidates.unshift(`/sys/fs/cgroup/pids${path}`);
    else if (controllers.includes('memory')) candidates.push(`/sys/fs/cgroup/memory${path}`);
  }
  for (const dir of candidates) {
    try {
      const procs = (await fs.readFile(`${dir}/cgroup.procs`, 'utf8')).trim();
      if (procs) return new Set(procs.split('\n').map((p) => parseInt(p, 10)));
    } catch { /* try the next hierarchy */ }
  }
  return new Set([initPid]);
}

export async function top(rec: ContainerRecord, psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
  if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') throw conflict(`container ${rec.Id} is not running`);
  if (/[^\w\s,=%+-]/.test(psArgs)) throw invalidParameter(`Invalid ps arguments: ${psArgs}`);
  const pids = await containerPids(rec.State.Pid);
  let out: string;
  try {
    out = (await run('ps', psArgs.split(/\s+/).filter(Boolean))).stdout;
  } catch (err) {
    throw systemError(`Error running ps: ${(err as Error).message}`);
  }
  const lines = out.split('\n').filter((l) => l.trim());
  const header = lines[0].trim().split(/\s+/);
  const pidCol = header.indexOf('PID');
  if (pidCol < 0) throw systemError(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!pids.has(parseInt(fields[pidCol], 10))) continue;
    // The last column (the command) keeps its spaces.
    processes.push([...fields.slice(0, header.length - 1), fields.slice(header.length - 1).join(' ')]);
  }
  return { Titles: header, Processes: processes };
}
