// What an attachment created, on disk: one file per container (<root>/endpoints/<id>.json), written before the
// kernel work, so that a crash at any point is cleaned up by reconcile. No fsync: these describe namespaces that do
// not survive a reboot either; rename keeps each file whole.
import { promises as fs, readFileSync, rmSync } from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../common/atomic';
import type { Endpoint, NetworkMode, PortBinding } from './types';

export interface EndpointRecord {
  containerId: string;
  name?: string;
  mode: NetworkMode;
  netnsPath?: string;
  /** published ports; they belong to endpoints[0] (the primary network) */
  ports: PortBinding[];
  endpointId: string;
  created: string;
  /** bridge mode: one per network, primary first */
  endpoints?: Endpoint[];
  /** --dns: where the embedded DNS forwards this container's queries (default: the host's nameservers) */
  dns?: string[];
  // the single-network layout of berth 0.1 (read, converted by normalize)
  hostVeth?: string;
  ipAddress?: string;
  prefixLen?: number;
  gateway?: string;
  macAddress?: string;
}

/** Converts a record of the single-network layout into one endpoint on the default network. */
export function normalize(rec: EndpointRecord, defaultNetwork: { id: string; name: string }): EndpointRecord {
  if (rec.endpoints || rec.mode !== 'bridge') return { ...rec, endpoints: rec.endpoints ?? [] };
  const { hostVeth, ipAddress, prefixLen, gateway, macAddress, ...rest } = rec;
  const endpoints: Endpoint[] = hostVeth && ipAddress ? [{
    networkId: defaultNetwork.id, network: defaultNetwork.name, ifname: 'eth0', hostVeth, ipAddress,
    prefixLen: prefixLen ?? 0, gateway: gateway ?? '', macAddress: macAddress ?? '', aliases: [], endpointId: rec.endpointId,
  }] : [];
  return { ...rest, endpoints };
}

export class EndpointFiles {
  constructor(readonly dir: string) {}

  async init(): Promise<void> { await fs.mkdir(this.dir, { recursive: true, mode: 0o700 }); }

  async save(rec: EndpointRecord): Promise<void> {
    await writeFileAtomic(path.join(this.dir, `${rec.containerId}.json`), JSON.stringify(rec) + '\n', 0o600, false);
  }

  async read(id: string): Promise<EndpointRecord | undefined> {
    // synchronous: one small file (usually none, at every attach), no thread-pool round trip
    try { return JSON.parse(readFileSync(path.join(this.dir, `${id}.json`), 'utf8')) as EndpointRecord; } catch { return undefined; }
  }

  async readAll(): Promise<EndpointRecord[]> {
    const out: EndpointRecord[] = [];
    for (const f of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      const rec = await this.read(f.slice(0, -5));
      if (rec && rec.containerId === f.slice(0, -5)) out.push(rec);
    }
    return out;
  }

  async remove(id: string): Promise<void> {
    rmSync(path.join(this.dir, `${id}.json`), { force: true });
  }
}
