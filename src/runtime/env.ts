// The environment a container process starts with: its configured variables plus the defaults Docker
// adds when they are missing (PATH, TERM for a TTY, HOME from the user's passwd entry, HOSTNAME).
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function processEnv(base: string[], opts: { tty: boolean; home: string; hostname?: string }): string[] {
  // an entry without "=" names no value: dockerd keeps it in Config.Env, the process never sees it
  const env = base.filter((e) => e.includes('='));
  const has = (k: string) => env.some((e) => e.startsWith(k + '='));
  if (!has('PATH')) env.unshift(DEFAULT_PATH);
  if (opts.hostname !== undefined) env.push(`HOSTNAME=${opts.hostname}`);
  if (opts.tty && !has('TERM')) env.push('TERM=xterm');
  if (!has('HOME')) env.push(`HOME=${opts.home}`);
  return env;
}
