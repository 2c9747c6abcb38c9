// Running helper commands (the OCI runtime, mount) without blocking the event loop.
import { execFile } from 'child_process';

export interface CommandResult { stdout: string; stderr: string }

export class CommandError extends Error {
  constructor(readonly command: string, readonly code: number | null, readonly stderr: string) {
    super(stderr.trim() || `${command} exited with ${code}`);
  }
}

export function run(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : null;
        reject(new CommandError(`${file} ${args.join(' ')}`, code, String(stderr) || err.message));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
