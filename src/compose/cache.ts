// A small on-disk cache for the loader (parsed YAML files, schema-validated documents), keyed by content hashes,
// so an unchanged project loads without the YAML parser or the schema validator: the second `up` of an unchanged
// project is on the path users feel most. Best effort: any error is a miss; entries are written atomically.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';

let dir: string | null | undefined;

function cacheDir(): string | null {
  if (dir !== undefined) return dir;
  if (process.env.BERTH_COMPOSE_CACHE === 'off') return (dir = null);
  const base = process.env.BERTH_COMPOSE_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'berth', 'compose');
  return (dir = base);
}

export const hashKey = (...parts: string[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

export function cacheGet(kind: string, key: string): string | undefined {
  const d = cacheDir();
  if (!d) return undefined;
  try { return fs.readFileSync(path.join(d, `${kind}-${key}`), 'utf8'); } catch { return undefined; }
}

export function cachePut(kind: string, key: string, data: string): void {
  const d = cacheDir();
  if (!d) return;
  try {
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    const file = path.join(d, `${kind}-${key}`);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch { /* a cache that cannot be written is only slower */ }
}
