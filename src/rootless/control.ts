// The channel between the rootless daemon (inside the namespaces) and its parent (outside, on the host):
// a unix socket under the exec root, one JSON request and one JSON answer per connection. The daemon asks the
// parent for what only the host side can do: open a published port on the host.
import * as net from 'net';
import { promises as fs } from 'fs';
import type { HostPortForwarder, PortBinding } from '../network';
import { PortInUse } from '../network';

export type ControlRequest =
  | { op: 'add-port'; binding: PortBinding }
  | { op: 'remove-port'; binding: PortBinding }
  /** a TCP connection to the host's loopback (a registry on 127.0.0.1): after an ok answer the socket carries it */
  | { op: 'connect'; host: string; port: number };

/** kind 'in-use' becomes the network layer's PortInUse (docker's "port is already allocated"). */
export interface ControlAnswer { ok: boolean; error?: string; kind?: 'in-use' | 'refused' }

/** `handle` answers a request; for 'connect' it is given the connection, and a `stream` it returns is piped to it. */
export async function serveControl(socketPath: string, handle: (req: ControlRequest) => Promise<ControlAnswer & { stream?: net.Socket }>): Promise<net.Server> {
  await fs.rm(socketPath, { force: true });
  const server = net.createServer((conn) => {
    let buf = Buffer.alloc(0);
    conn.on('error', () => undefined);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl < 0) { if (buf.length > 64 * 1024) conn.destroy(); return; }
      conn.off('data', onData);
      conn.pause();
      let req: ControlRequest;
      try { req = JSON.parse(buf.subarray(0, nl).toString('utf8')); } catch { conn.end(JSON.stringify({ ok: false, error: 'bad request' }) + '\n'); return; }
      const rest = buf.subarray(nl + 1);
      handle(req).catch((err: Error) => ({ ok: false, error: err.message } as ControlAnswer & { stream?: net.Socket })).then(({ stream, ...answer }) => {
        if (!stream) { conn.end(JSON.stringify(answer) + '\n'); return; }
        conn.write(JSON.stringify(answer) + '\n');
        if (rest.length) stream.write(rest);
        stream.on('error', () => conn.destroy());
        conn.on('close', () => stream.destroy());
        conn.pipe(stream).pipe(conn);
        conn.resume();
      });
    };
    conn.on('data', onData);
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

/** The daemon's side of a host loopback connection (distribution's LoopbackConnector). */
export function connectThroughParent(socketPath: string, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      sock.off('data', onData);
      sock.pause();
      let a: ControlAnswer;
      try { a = JSON.parse(buf.subarray(0, nl).toString('utf8')); } catch { a = { ok: false, error: 'bad answer' }; }
      if (!a.ok) { sock.destroy(); reject(Object.assign(new Error(`dial tcp ${host}:${port}: ${a.error ?? 'refused'}`), { code: 'ECONNREFUSED' })); return; }
      const rest = buf.subarray(nl + 1);
      if (rest.length) sock.unshift(rest);
      resolve(sock);
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.on('connect', () => sock.write(JSON.stringify({ op: 'connect', host, port }) + '\n'));
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
