// The channel between the rootless daemon (inside the namespaces) and its parent (outside, on the host):
// a unix socket under the exec root, one JSON request and one JSON answer per connection. The daemon asks the
// parent for what only the host side can do: open a published port on the host.
import * as net from 'net';
import { promises as fs } from 'fs';
import type { HostPortForwarder, PortBinding } from '../network';
import { PortInUse } from '../network';

export type ControlRequest =
  | { op: 'add-port'; binding: PortBinding }
  | { op: 'remove-port'; binding: PortBinding };

/** kind 'in-use' becomes the network layer's PortInUse (docker's "port is already allocated"). */
export interface ControlAnswer { ok: boolean; error?: string; kind?: 'in-use' | 'refused' }

export async function serveControl(socketPath: string, handle: (req: ControlRequest) => Promise<ControlAnswer>): Promise<net.Server> {
  await fs.rm(socketPath, { force: true });
  const server = net.createServer((conn) => {
    let text = '';
    conn.setEncoding('utf8');
    conn.on('error', () => undefined);
    conn.on('data', (d: string) => {
      text += d;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      let req: ControlRequest;
      try { req = JSON.parse(text.slice(0, nl)); } catch { conn.end(JSON.stringify({ ok: false, error: 'bad request' }) + '\n'); return; }
      handle(req).catch((err: Error) => ({ ok: false, error: err.message })).then((a) => conn.end(JSON.stringify(a) + '\n'));
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(socketPath, () => resolve()); });
  await fs.chmod(socketPath, 0o600);
  return server;
}

export function callControl(socketPath: string, req: ControlRequest): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let text = '';
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d: string) => { text += d; });
    sock.on('error', (err) => reject(new Error(`rootless parent unreachable (${socketPath}): ${err.message}`)));
    sock.on('close', () => {
      try { resolve(JSON.parse(text)); } catch { reject(new Error('rootless parent: no answer')); }
    });
    sock.setTimeout(15_000, () => sock.destroy(new Error('rootless parent: no answer in 15 s')));
  });
}

/** The daemon's side of published ports: the parent opens them on the host. */
export class ParentPortForwarder implements HostPortForwarder {
  constructor(private readonly socketPath: string) {}

  async add(b: PortBinding): Promise<void> {
    const a = await callControl(this.socketPath, { op: 'add-port', binding: b });
    if (a.ok) return;
    if (a.kind === 'in-use') throw new PortInUse(b.hostIp, b.hostPort, b.protocol, a.error ?? 'in use on the host');
    throw new Error(a.error ?? 'the host refused the port');
  }

  async remove(b: PortBinding): Promise<void> {
    const a = await callControl(this.socketPath, { op: 'remove-port', binding: b });
    if (!a.ok) throw new Error(a.error ?? 'could not remove the port forward');
  }
}
