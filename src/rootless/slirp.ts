// The user-mode network: slirp4netns links the daemon's network namespace to the host (a tap device with
// 10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3) and forwards published ports from host sockets into it
// (its API's add_hostfwd). It runs outside the namespaces, as the user, and exits when the parent does.
import { spawn, ChildProcess } from 'child_process';
import * as net from 'net';

export const SLIRP_GUEST = '10.0.2.100';
export const SLIRP_DNS = '10.0.2.3';
export const SLIRP_MTU = 65520;

export class Slirp {
  private constructor(readonly proc: ChildProcess, readonly apiSocket: string) {}

  static async start(path: string, holderPid: number, apiSocket: string): Promise<Slirp> {
    // fd 3: exit when it closes (our end dies with us); fd 4: slirp writes "1" when the tap device is configured
    const proc = spawn(path, ['--configure', `--mtu=${SLIRP_MTU}`, '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp',
      '--api-socket', apiSocket, '--exit-fd=3', '--ready-fd=4', String(holderPid), 'tap0'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => { stderr += String(d); if (stderr.length > 8192) stderr = stderr.slice(-4096); });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('slirp4netns did not get ready in 10 s')), 10_000);
        proc.once('error', (e) => { clearTimeout(timer); reject(e); });
        proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`slirp4netns exited (${code}): ${stderr.trim()}`)); });
        (proc.stdio[4] as net.Socket).once('data', () => { clearTimeout(timer); resolve(); });
      });
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    proc.removeAllListeners('exit');
    return new Slirp(proc, apiSocket);
  }

  /** One API request (one JSON object per connection, as slirp4netns speaks it). */
  private request(body: object): Promise<{ return?: Record<string, unknown>; error?: { desc?: string } }> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(this.apiSocket);
      let text = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(JSON.stringify(body)));
      sock.on('data', (d: string) => { text += d; });
      sock.on('error', reject);
      sock.on('close', () => {
        try { resolve(JSON.parse(text)); } catch { reject(new Error(`slirp4netns API: unreadable answer ${JSON.stringify(text)}`)); }
      });
      sock.setTimeout(5000, () => sock.destroy(new Error('slirp4netns API: no answer in 5 s')));
    });
  }

  async addHostFwd(proto: 'tcp' | 'udp', hostAddr: string, hostPort: number, guestPort: number): Promise<number> {
    const r = await this.request({ execute: 'add_hostfwd', arguments: { proto, host_addr: hostAddr, host_port: hostPort, guest_addr: SLIRP_GUEST, guest_port: guestPort } });
    if (r.error || typeof r.return?.id !== 'number') throw new Error(r.error?.desc ?? 'add_hostfwd failed');
    return r.return.id;
  }

  async removeHostFwd(id: number): Promise<void> {
    const r = await this.request({ execute: 'remove_hostfwd', arguments: { id } });
    if (r.error) throw new Error(r.error.desc ?? 'remove_hostfwd failed');
  }

  stop(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}
