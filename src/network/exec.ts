// Running the few host tools the network layer needs (ip, unshare, umount, iptables-restore/-save).
// Every call is asynchronous (never blocks the daemon's event loop), feeds an optional script on stdin
// (ip -batch, iptables-restore) and reports failures with the tool's own stderr.
import { spawn } from 'child_process';

export class CommandError extends Error {
  constructor(readonly cmd: string, readonly code: number | null, readonly stderr: string) {
    super(`${cmd} failed (${code === null ? 'signal' : `exit ${code}`}): ${stderr.trim() || 'no output'}`);
    this.name = 'CommandError';
  }
}

export interface RunResult { stdout: string; stderr: string }

// Debian keeps ip/iptables in /usr/sbin, which is not on the PATH of every caller (e.g. a non-login shell).
const ENV = { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin${process.env.PATH ? ':' + process.env.PATH : ''}`, LC_ALL: 'C' };

export function run(cmd: string, args: string[], input?: string, opts: { stdout?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', opts.stdout ? 'pipe' : 'ignore', 'pipe'],
      env: ENV,
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err) => reject(new CommandError(`${cmd} ${args.join(' ')}`, null, err.message)));
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError(`${cmd} ${args.join(' ')}`, code, stderr));
    });
    if (input !== undefined) {
      child.stdin!.on('error', () => { /* the tool died early; its exit code tells why */ });
      child.stdin!.end(input);
    }
  });
}

/** Runs a command and swallows failures whose stderr matches `ignore` (for idempotent deletes). */
export async function runIgnoring(cmd: string, args: string[], ignore: RegExp, input?: string): Promise<boolean> {
  try {
    await run(cmd, args, input);
    return true;
  } catch (err) {
    if (err instanceof CommandError && ignore.test(err.stderr)) return false;
    throw err;
  }
}
