// Signal names and numbers as docker accepts them: "TERM", "SIGTERM", "15", "SIGRTMIN+3".
import * as os from 'os';
import { invalidParameter } from '../../common/errors';

const table = os.constants.signals as Record<string, number>;

export function parseSignal(spec: string | number | undefined, fallback = 'SIGTERM'): number {
  const raw = spec === undefined || spec === '' ? fallback : String(spec);
  if (/^\d+$/.test(raw)) {
    const n = parseInt(raw, 10);
    if (n <= 0 || n > 64) throw invalidParameter(`Invalid signal: ${raw}`);
    return n;
  }
  const name = raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
  const rt = /^SIGRTMIN\+(\d+)$/.exec(name);
  if (rt) return 34 + parseInt(rt[1], 10);
  const n = table[name];
  if (n === undefined) throw invalidParameter(`Invalid signal: ${raw}`);
  return n;
}
