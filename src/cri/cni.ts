// Pod networking through CNI, the way containerd's CRI plugin drives it: the first network configuration in the
// conf dir (a .conflist, or a .conf taken as a list of one), its plugins run from the bin dir with the CNI
// environment (ADD in order, each given the previous result; DEL in reverse with the cached result), the
// `portMappings` capability filled from the pod's port mappings. The result's first IPv4 address is the pod IP.
import { spawn } from 'child_process';
import { promises as fs } from 'fs';
import * as path from 'path';
import { CriError } from './errors';
// the status codes alone: the gRPC stack itself loads with the CRI socket's first client (server.ts)
import { Status } from '@grpc/grpc-js/build/src/constants';
import type { CniState } from './store';

export interface CniOptions {
  confDir: string;
  binDirs: string[];
  /** ms a plugin may take before it is killed */
  timeoutMs?: number;
}

export interface CniNetwork { name: string; confList: Record<string, unknown>; file: string }

export interface PodNetworkRequest {
  containerId: string;
  netns: string;
  ifName?: string;
  podName: string; podNamespace: string; podUid: string;
  portMappings: CniState['portMappings'];
}

export class CniError extends CriError {
  constructor(message: string) { super(Status.UNKNOWN, message); }
}

/** The network the conf dir defines (containerd's max_conf_num 1: the first file in lexical order). */
export async function loadNetwork(confDir: string): Promise<CniNetwork | undefined> {
  let names: string[];
  try { names = (await fs.readdir(confDir)).sort(); } catch { return undefined; }
  for (const name of names) {
    if (!/\.(conflist|conf|json)$/.test(name)) continue;
    const file = path.join(confDir, name);
    let doc: Record<string, unknown>;
    try { doc = JSON.parse(await fs.readFile(file, 'utf8')); } catch { continue; }
    if (name.endsWith('.conflist')) {
      if (!Array.isArray(doc.plugins) || !doc.plugins.length) continue;
      return { name: String(doc.name ?? ''), confList: doc, file };
    }
    if (typeof doc.type !== 'string') continue;
    const { cniVersion, name: netName, ...plugin } = doc;
    return { name: String(netName ?? ''), confList: { cniVersion, name: netName, plugins: [plugin] }, file };
  }
  return undefined;
}

export class Cni {
  constructor(private readonly opts: CniOptions) {}

  get confDir(): string { return this.opts.confDir; }

  /** Runs ADD of every plugin of the list. On a failure the plugins already added are deleted again. */
  async add(net: CniNetwork, req: PodNetworkRequest): Promise<CniState> {
    const ifName = req.ifName ?? 'eth0';
    const args = `IgnoreUnknown=1;K8S_POD_NAMESPACE=${req.podNamespace};K8S_POD_NAME=${req.podName};K8S_POD_INFRA_CONTAINER_ID=${req.containerId};K8S_POD_UID=${req.podUid}`;
    const state: CniState = { network: net.name, confList: net.confList, containerId: req.containerId, ifName, added: 0, args, portMappings: req.portMappings };
    const plugins = net.confList.plugins as Array<Record<string, unknown>>;
    let prev: Record<string, unknown> | undefined;
    try {
      for (const plugin of plugins) {
        const conf = this.pluginConf(net.confList, plugin, prev, req.portMappings);
        prev = await this.exec('ADD', String(plugin.type), conf, state, req.netns);
        state.added++;
      }
    } catch (err) {
      state.result = prev;
      await this.del(state, req.netns).catch(() => undefined);
      throw err;
    }
    state.result = prev;
    return state;
  }

  /** DEL in reverse order with the cached ADD result; missing plugins and a gone netns are not errors (idempotent). */
  async del(state: CniState, netns: string | undefined): Promise<void> {
    const plugins = (state.confList.plugins as Array<Record<string, unknown>>).slice(0, state.added);
    let firstErr: unknown;
    for (const plugin of plugins.reverse()) {
      const conf = this.pluginConf(state.confList, plugin, state.result, state.portMappings);
      try {
        await this.exec('DEL', String(plugin.type), conf, state, netns ?? '');
      } catch (err) {
        firstErr ??= err;
      }
    }
    if (firstErr) throw firstErr;
  }

  private pluginConf(list: Record<string, unknown>, plugin: Record<string, unknown>, prev: Record<string, unknown> | undefined,
    ports: CniState['portMappings']): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion ?? '0.4.0', name: list.name };
    if (prev) conf.prevResult = prev;
    const caps = plugin.capabilities as Record<string, boolean> | undefined;
    if (caps?.portMappings) conf.runtimeConfig = { ...(plugin.runtimeConfig as object | undefined), portMappings: ports };
    return conf;
  }

  private async findPlugin(type: string): Promise<string> {
    if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw new CniError(`invalid CNI plugin type ${JSON.stringify(type)}`);
    for (const dir of this.opts.binDirs) {
      const p = path.join(dir, type);
      try { await fs.access(p, 1); return p; } catch { /* next */ }
    }
    throw new CniError(`failed to find plugin "${type}" in path [${this.opts.binDirs.join(' ')}]`);
  }

  private async exec(command: 'ADD' | 'DEL' | 'CHECK', type: string, conf: Record<string, unknown>, state: CniState, netns: string): Promise<Record<string, unknown> | undefined> {
    const bin = await this.findPlugin(type);
    const env = {
      CNI_COMMAND: command, CNI_CONTAINERID: state.containerId, CNI_NETNS: netns, CNI_IFNAME: state.ifName,
      CNI_ARGS: state.args, CNI_PATH: this.opts.binDirs.join(':'), PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    };
    const { code, stdout, stderr } = await runPlugin(bin, env, JSON.stringify(conf), this.opts.timeoutMs ?? 60_000);
    if (code !== 0) {
      let msg = stderr.trim() || `exit status ${code}`;
      try {
        const e = JSON.parse(stdout) as { msg?: string; details?: string };
        if (e.msg) msg = e.details ? `${e.msg}: ${e.details}` : e.msg;
      } catch { /* not JSON */ }
      throw new CniError(`plugin type="${type}" name="${String(conf.name)}" failed (${command.toLowerCase()}): ${msg}`);
    }
    if (command !== 'ADD') return undefined;
    try {
      return JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      throw new CniError(`plugin type="${type}" returned an unreadable result: ${stdout.slice(0, 200)}`);
    }
  }
}

function runPlugin(bin: string, env: NodeJS.ProcessEnv, input: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(new CniError(`${bin}: ${err.message}`)); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }); });
    child.stdin.on('error', () => { /* the plugin exited without reading */ });
    child.stdin.end(input);
  });
}

/** The pod's addresses from a CNI result (0.3.x/0.4.0/1.0.0 `ips`, 0.2.0 `ip4`): IPv4 first. */
export function podIps(result: Record<string, unknown> | undefined): string[] {
  if (!result) return [];
  const out: string[] = [];
  const ips = result.ips as Array<{ address?: string; version?: string }> | undefined;
  for (const ip of ips ?? []) if (ip.address) out.push(ip.address.split('/')[0]);
  const ip4 = (result.ip4 as { ip?: string } | undefined)?.ip;
  if (ip4) out.push(ip4.split('/')[0]);
  return [...out.filter((a) => !a.includes(':')), ...out.filter((a) => a.includes(':'))];
}
