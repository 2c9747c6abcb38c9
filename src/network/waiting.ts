// A helper process started ahead of time and waiting on stdin for its work (warm.ts keeps pools of them; netns.ts,
// bridge.ts and iptables.ts feed them). Its own module, below both the pool and the users, so they do not import
// each other.
import { spawn, ChildProcess } from 'child_process';
import { CommandError, RunResult } from './exec';

const ENV = { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin${process.env.PATH ? ':' + process.env.PATH : ''}`, LC_ALL: 'C' };

/** A started process waiting for its input. */
export class Waiting {
  readonly child: ChildProcess;
  readonly done: Promise<RunResult>;
  private fed = false;

  constructor(readonly cmd: string, readonly args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: ENV });
    let stdout = '';
    let stderr = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    this.child.stdin!.on('error', () => { /* died early: its exit code tells */ });
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', (err) => reject(new CommandError(`${cmd} ${args.join(' ')}`, null, err.message)));
      this.child.on('close', (code) => {
        if (code === 0) resolve({ stdout, stderr });
        else reject(new CommandError(`${cmd} ${args.join(' ')}`, code, stderr));
      });
    });
    this.done.catch(() => undefined); // observed by feed(); an unused one may die unobserved
  }

  get alive(): boolean { return !this.fed && this.child.exitCode === null && this.child.signalCode === null; }

  feed(input: string): Promise<RunResult> {
    this.fed = true;
    this.child.stdin!.end(input);
    return this.done;
  }

  /** Ends an unused process: EOF makes the tool do nothing and exit. */
  async discard(): Promise<void> {
    if (!this.fed) { this.fed = true; this.child.stdin!.end(); }
    await this.done.catch(() => undefined);
  }
}

export interface WarmNetns { file: string; inside: Waiting }

export interface WarmSpec {
  /** argv of the host-namespace `ip -batch -` */
  ipBatch: [string, string[]];
  /** argv of the iptables-restore transaction */
  iptablesRestore: [string, string[]];
  /** argv to create a namespace bound to FILE and wait inside it: FILE is substituted */
  netnsBatch: (file: string) => [string, string[]];
}
