// Which daemon a bridge device belongs to. Two daemons on one host must never share a bridge: its iptables chains
// are named after it, and each daemon's start-up reconcile removes the veths and DNAT rules on its bridges that
// none of its containers own — another daemon's containers lost their veths and published ports that way (fault
// "two daemons, one default bridge"). So a daemon writes its data root into the alias (ifalias) of every bridge it
// creates, and refuses a bridge whose alias names another daemon's data root that still uses it.
import { promises as fs } from 'fs';
import * as path from 'path';
import { EngineError } from '../common/errors';

const PREFIX = 'berth:';

export const ownerMark = (dataRoot: string) => `${PREFIX}${path.resolve(dataRoot)}`;

/** The device's alias; undefined when there is no such device. */
export async function bridgeAlias(name: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(`/sys/class/net/${name}/ifalias`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Marks the bridge as this daemon's (written through sysfs: no process). */
export async function markBridge(name: string, dataRoot: string): Promise<void> {
  const mark = ownerMark(dataRoot);
  if ((await bridgeAlias(name)) !== mark) await fs.writeFile(`/sys/class/net/${name}/ifalias`, mark);
}

async function daemonPid(dataRoot: string): Promise<number | undefined> {
  const pid = parseInt(await fs.readFile(path.join(dataRoot, 'berth.pid'), 'utf8').catch(() => ''), 10);
  if (!(pid > 0)) return undefined;
  try { process.kill(pid, 0); return pid; } catch { return undefined; }
}

/** Whether the daemon of `dataRoot` still has `bridge` as one of its networks' devices. */
async function stillUses(dataRoot: string, bridge: string): Promise<boolean> {
  const netRoot = path.join(dataRoot, 'network');
  const state = await fs.readFile(path.join(netRoot, 'network.json'), 'utf8').then((t) => JSON.parse(t) as { bridge?: string }, () => undefined);
  if (state?.bridge === bridge) return true;
  for (const f of await fs.readdir(path.join(netRoot, 'networks')).catch(() => [] as string[])) {
    const cfg = await fs.readFile(path.join(netRoot, 'networks', f), 'utf8').then((t) => JSON.parse(t) as { Bridge?: string }, () => undefined);
    if (cfg?.Bridge === bridge) return true;
  }
  return false;
}

/**
 * Throws a clear 500 when `name` belongs to another daemon. `adopt`: the device may be ours from before
 * ownership marks existed (this daemon's own state names it).
 */
export async function checkBridgeOwner(name: string, dataRoot: string, adopt: boolean): Promise<void> {
  const alias = await bridgeAlias(name);
  if (alias === undefined || alias === ownerMark(dataRoot)) return;
  if (alias.startsWith(PREFIX)) {
    const other = alias.slice(PREFIX.length);
    if (!(await stillUses(other, name))) return; // its daemon's data root is gone or moved on: a leftover
    const pid = await daemonPid(other);
    throw new EngineError(500, `bridge ${name} belongs to the berth daemon with data root ${other}` +
      `${pid ? ` (running, pid ${pid})` : ' (not running; its containers may still use it)'}: ` +
      'give this daemon a bridge of its own with --bridge and --bip');
  }
  if (adopt) return;
  throw new EngineError(500, `bridge ${name} exists and was not created by this daemon${alias ? ` (alias "${alias}")` : ''}: ` +
    'another berth daemon or another program may own it; give this daemon a bridge of its own with --bridge and --bip');
}
