// What a fault must not leave behind, looked up on the host for one test daemon: mounts, veths, iptables rules,
// cgroups, IP reservations, endpoint records, netns files, shims and container directories that belong to no
// running container. Returns the problems found (empty: nothing leaked), so a test prints them all at once.
import { promises as fs, existsSync, readdirSync } from 'fs';
import * as path from 'path';
import { runCmd, TestDaemon } from '../helpers/daemon';
import { shimProcesses, mountsUnder } from '../../src/runtime/leftovers';

export interface LeakCheckOptions {
  /** container ids the test ever made: their cgroups are looked for too (other daemons share /berth/<id>) */
  known?: string[];
}

interface Listed { Id: string; State: string }

export async function leakReport(d: TestDaemon, opts: LeakCheckOptions = {}): Promise<string[]> {
  const problems: string[] = [];
  const listed = ((await d.api('GET', '/containers/json?all=1')).body as Listed[]) ?? [];
  const running = new Set(listed.filter((c) => c.State === 'running' || c.State === 'paused').map((c) => c.Id));
  const listedIds = new Set(listed.map((c) => c.Id));
  const sandboxes = new Set<string>();
  for (const id of running) {
    const key = (await d.api('GET', `/containers/${id}/json`)).body?.NetworkSettings?.SandboxKey;
    if (key) sandboxes.add(key);
  }

  // container directories: exactly the listed containers
  for (const id of readdirSync(path.join(d.dataRoot, 'containers'))) {
    if (!listedIds.has(id)) problems.push(`container directory without a listed container: ${id}`);
  }
  // mounts: rootfs of running containers, their namespaces, at most one spare namespace of the warm pool, and the
  // exec root's tmpfs
  let spares = 0;
  for (const m of await mountsUnder(d.dir)) {
    if (m === d.execRoot) continue; // the exec root's own tmpfs (src/daemon/exec-root.ts): the daemon's, for its life
    const rootfs = /\/containers\/([0-9a-f]{64})\/merged$/.exec(m);
    if (rootfs) { if (!running.has(rootfs[1])) problems.push(`rootfs still mounted: ${m}`); continue; }
    if (m.startsWith(path.join(d.execRoot, 'netns') + '/')) {
      if (!sandboxes.has(m) && ++spares > 1) problems.push(`network namespace of no running container: ${m}`);
      continue;
    }
    if (m.includes('/volumes/')) continue; // volume mounts are the volume store's (reconciled separately)
    problems.push(`unexpected mount: ${m}`);
  }
  // veths on the daemon's bridge: one per running container on it
  const veths = JSON.parse((await runCmd('ip', ['-j', 'link', 'show', 'master', d.bridge])).stdout || '[]') as Array<{ ifname: string }>;
  const onBridge = listed.length ? (await Promise.all([...running].map(async (id) => {
    const nets = (await d.api('GET', `/containers/${id}/json`)).body?.NetworkSettings?.Networks ?? {};
    return 'bridge' in nets ? 1 : 0;
  }))).reduce((a: number, b: number) => a + b, 0) : 0;
  if (veths.length !== onBridge) problems.push(`${veths.length} veths on ${d.bridge} for ${onBridge} running containers: ${veths.map((v) => v.ifname).join(' ')}`);
  // DNAT rules: only for running containers
  const nat = (await runCmd('iptables-save', ['-t', 'nat'])).stdout.split('\n').filter((l) => l.startsWith(`-A BERTH-DNAT-${d.bridge} `));
  for (const rule of nat) {
    const id = /berth:([0-9a-f]{64})/.exec(rule)?.[1];
    if (!id || !running.has(id)) problems.push(`DNAT rule of no running container: ${rule}`);
  }
  // IP reservations and endpoint records
  const ipamDir = path.join(d.dataRoot, 'network', 'ipam', 'bridge');
  for (const f of existsSync(ipamDir) ? readdirSync(ipamDir) : []) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(f)) continue;
    const owner = (await fs.readFile(path.join(ipamDir, f), 'utf8')).split(/\r?\n/)[0];
    if (!running.has(owner)) problems.push(`IP ${f} reserved for ${owner}, which is not running`);
  }
  const epDir = path.join(d.dataRoot, 'network', 'endpoints');
  for (const f of existsSync(epDir) ? readdirSync(epDir) : []) {
    if (f.endsWith('.json') && !running.has(f.slice(0, -5))) problems.push(`endpoint record of no running container: ${f}`);
  }
  // shims: one per running container (exec shims of running containers are allowed)
  for (const s of await shimProcesses(path.join(d.execRoot, 'shim'))) {
    const prefix = path.basename(s.stateDir).split('-')[0];
    if (![...running].some((id) => id.startsWith(prefix))) problems.push(`orphaned berth-shim pid ${s.pid} (${s.stateDir})`);
  }
  // the OCI runtime's state of containers that are not running
  for (const rt of readdirSync(d.execRoot).filter((n) => n.startsWith('runtime-'))) {
    for (const id of readdirSync(path.join(d.execRoot, rt))) {
      if (!running.has(id)) problems.push(`runtime state of no running container: ${rt}/${id}`);
    }
  }
  // cgroups of the containers the test made that are not running
  for (const id of opts.known ?? []) {
    if (running.has(id)) continue;
    for (const h of readdirSync('/sys/fs/cgroup')) {
      if (existsSync(`/sys/fs/cgroup/${h}/berth/${id}`)) problems.push(`cgroup left: /sys/fs/cgroup/${h}/berth/${id}`);
    }
  }
  return problems;
}
