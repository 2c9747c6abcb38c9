// The daemon's side of `berth-shim --launcher` (shim/launcher.c): one small helper process that starts shims, so
// the daemon does not fork itself (a ~90 MB Node process: 3-5 ms of CPU and blocked event loop each time) on the
// path of every container start and exec. The shim started is the same program with the same arguments; only its
// first parent is the launcher instead of the daemon.
import { spawn, type ChildProcess } from 'child_process';
import { log } from '../common/log';

export class ShimLauncher {
  private child?: ChildProcess;
  private pending = new Map<string, { resolve: (report: string) => void; reject: (e: Error) => void }>();
  private next = 0;
  private buffer = '';
  /** set once the launcher could not be started: every spawn then forks directly */
  broken = false;

  constructor(private readonly binary: string) {}

  /** the launcher's pid while it runs */
  get pid(): number | undefined { return this.child?.pid; }

  /** Starts `argv` (argv[0] the shim binary) with the sync pipe as fd 3; resolves with what the shim reported. */
  launch(argv: string[]): Promise<string> {
    const child = this.ensure();
    const id = `r${this.next++}`;
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.refWhilePending();
      // fields are NUL-terminated: no argument can contain a NUL (execve could not pass it either)
      child.stdin!.write(`${id}\0${argv.length}\0${argv.join('\0')}\0`);
    });
  }

  private ensure(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(this.binary, ['--launcher'], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.input(chunk));
    child.stdin!.on('error', () => { /* exit follows */ });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.buffer = '';
      for (const p of this.pending.values()) p.reject(new Error(`container shim launcher ${why}`));
      this.pending.clear();
    };
    child.on('error', (err) => {
      // cannot be started at all (ENOENT, EACCES): spawn directly from now on
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EACCES') this.broken = true;
      log.warn('container shim launcher failed', { error: err.message });
      gone('failed');
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) log.warn('container shim launcher exited', { code, signal });
      gone('exited');
    });
    this.refWhilePending();
    return child;
  }

  private input(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      const sp = line.indexOf(' ');
      const id = sp < 0 ? line : line.slice(0, sp);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      p.resolve(sp < 0 ? '' : line.slice(sp + 1));
    }
    this.refWhilePending();
  }

  /** The launcher keeps no process alive by itself (a CLI or a test may use shims too), only while it owes answers. */
  private refWhilePending(): void {
    const child = this.child;
    if (!child) return;
    const out = child.stdout as unknown as { ref?: () => void; unref?: () => void } | null;
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    // (the process handle too: its exit is what rejects the requests when the launcher dies)
    if (this.pending.size) { out?.ref?.(); child.ref(); } else { out?.unref?.(); child.unref(); }
  }

  /** Ends the launcher (shims it started keep running). */
  close(): void {
    this.child?.stdin?.end();
  }
}
