// Pre-started helper processes. Starting a process costs 7-10 ms on these machines (fork+exec, dynamic linking),
// which is most of the cost of a container's network setup. Every tool we need here reads its work from stdin
// (`ip -batch -`, `iptables-restore`), so we start it ahead of time, let it wait on stdin, and at attach time
// only write the commands and close stdin. The work done is exactly the same as with a fresh process; only the
// start-up moves off the container start path. A namespace is pre-created the same way, with an `ip -batch -`
// already waiting inside it.
//
// Idle cost: per slot one waiting process (ip ~2 MB RSS, iptables-restore ~4 MB) and one empty network namespace.
// Nothing is held that another tool could wait on (iptables-restore takes the xtables lock only when it reads a
// table). If the daemon dies, the waiting processes read EOF and exit; the namespace files are removed by
// reconcile at the next start like any other unknown namespace.
import { promises as fs, statSync } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { Waiting, type WarmNetns, type WarmSpec } from './waiting';
import { removeNetns } from './netns';
import { log } from '../common/log';

export class WarmPool {
  private readonly ip: Waiting[] = [];
  private readonly ipt: Waiting[] = [];
  private readonly ns: WarmNetns[] = [];
  private pending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly netnsDir: string, private readonly spec: WarmSpec, private readonly size = 1,
    private readonly delayMs = 30) {}

  takeIp(): Waiting | undefined { return this.take(this.ip); }
  takeIptables(): Waiting | undefined { return this.take(this.ipt); }
  takeNetns(): WarmNetns | undefined {
    while (this.ns.length) {
      const n = this.ns.shift()!;
      this.schedule();
      if (n.inside.alive && this.bound(n.file)) return n;
      void this.dropNetns(n);
    }
    this.schedule();
    return undefined;
  }

  private bound(file: string): boolean {
    try { return statSync(file).dev !== statSync(this.netnsDir).dev; } catch { return false; }
  }

  /** Namespace files the pool owns (reconcile must leave them alone). */
  files(): string[] { return this.ns.map((n) => n.file); }

  /** Waits until scheduled refills are done. */
  async settle(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; this.fill(); }
    while (this.pending) await this.pending;
  }

  /** Fills the pool now (start-up). */
  async warm(): Promise<void> {
    this.fill();
    await this.settle();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.pending) await this.pending;
    await Promise.all([
      ...this.ip.splice(0).map((w) => w.discard()),
      ...this.ipt.splice(0).map((w) => w.discard()),
      ...this.ns.splice(0).map((n) => this.dropNetns(n)),
    ]);
  }

  private take(list: Waiting[]): Waiting | undefined {
    let w: Waiting | undefined;
    while ((w = list.shift()) && !w.alive) { /* drop dead ones */ }
    this.schedule();
    return w;
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    // a little later: do not compete with the container start that follows the attach
    this.timer = setTimeout(() => { this.timer = undefined; this.fill(); }, this.delayMs);
    this.timer.unref();
  }

  private fill(): void {
    if (this.closed || this.pending) return;
    const p = (async () => {
      await Promise.resolve(); // never finish synchronously: `pending` is set before it is cleared
      try {
        while (!this.closed && this.ip.length < this.size) this.ip.push(new Waiting(...this.spec.ipBatch));
        while (!this.closed && this.ipt.length < this.size) this.ipt.push(new Waiting(...this.spec.iptablesRestore));
        while (!this.closed && this.ns.length < this.size) {
          const n = await this.createNetns();
          if (!n) break;
          if (this.closed) { await this.dropNetns(n); break; }
          this.ns.push(n);
        }
      } catch (err) {
        log.warn('network: could not pre-start helpers', { err: err instanceof Error ? err.message : String(err) });
      }
    })();
    this.pending = p;
    void p.then(() => { if (this.pending === p) this.pending = undefined; });
  }

  private async createNetns(): Promise<WarmNetns | undefined> {
    const file = path.join(this.netnsDir, randomBytes(6).toString('hex'));
    await (await fs.open(file, 'wx', 0o444)).close();
    const inside = new Waiting(...this.spec.netnsBatch(file));
    // ready once the namespace is bound on the file (unshare does that before it starts ip)
    const dirDev = (await fs.stat(this.netnsDir)).dev;
    for (let i = 0; i < 500; i++) {
      const st = await fs.stat(file).catch(() => undefined);
      if (st && st.dev !== dirDev) return { file, inside };
      if (!inside.alive) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    await this.dropNetns({ file, inside });
    return undefined;
  }

  private async dropNetns(n: WarmNetns): Promise<void> {
    await n.inside.discard();
    await removeNetns(n.file).catch((err) => log.warn('network: could not remove a spare namespace', { file: n.file, err: String(err) }));
  }
}
