// Optional HTTP Basic authentication against an htpasswd file with bcrypt entries (what `htpasswd -B`
// writes, and the only kind CNCF distribution accepts). bcrypt is slow on purpose (~ms to 100s of ms
// in JavaScript), and clients send credentials on every request, so a verified Authorization header is
// remembered for a few minutes (keyed by its sha256, never the password itself). The file is re-read
// when it changes, so users can be added or removed without a restart.
import { promises as fs } from 'fs';
import { createHash, randomBytes } from 'crypto';
import { log } from '../common/log';

const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 4096;
const STAT_INTERVAL_MS = 1000;

type Bcrypt = { compare(s: string, hash: string): Promise<boolean>; hashSync(s: string, rounds: number): string };

export class Htpasswd {
  private users = new Map<string, string>();
  private mtimeMs = -1;
  private checkedAt = 0;
  private verified = new Map<string, { user: string; until: number }>();
  private bcrypt: Bcrypt | undefined;
  // Hashes of a random string, compared against for unknown users (at the cost the file's users have),
  // so that the time an answer takes does not tell which user names exist.
  private dummies = new Map<number, string>();

  constructor(private readonly file: string, readonly realm: string) {}

  /** Loads the file now, so a missing or unreadable file fails at start, not at the first request. */
  async load(): Promise<void> {
    await this.reload(true);
  }

  /** The authenticated user for an Authorization header, or undefined. */
  async authenticate(authorization: string | undefined): Promise<string | undefined> {
    if (!authorization?.startsWith('Basic ')) return undefined;
    await this.reload(false);
    const key = createHash('sha256').update(authorization).digest('base64');
    const now = Date.now();
    const hit = this.verified.get(key);
    if (hit && hit.until > now) return hit.user;

    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.users.get(user);
    const ok = await this.lib().compare(password, hash ?? this.dummy());
    if (!ok || !hash) return undefined;
    if (this.verified.size >= CACHE_MAX) this.verified.clear();
    this.verified.set(key, { user, until: now + CACHE_TTL_MS });
    return user;
  }

  private lib(): Bcrypt {
    // loaded on first use: a registry without --htpasswd never evaluates bcryptjs
    if (!this.bcrypt) this.bcrypt = require('bcryptjs') as Bcrypt;
    return this.bcrypt;
  }

  private dummy(): string {
    const first = this.users.values().next().value as string | undefined;
    const cost = first ? Number(first.slice(4, 6)) : 5;
    let h = this.dummies.get(cost);
    if (!h) this.dummies.set(cost, (h = this.lib().hashSync(randomBytes(16).toString('hex'), cost)));
    return h;
  }

  private async reload(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - this.checkedAt < STAT_INTERVAL_MS) return;
    this.checkedAt = now;
    let st;
    try {
      st = await fs.stat(this.file);
    } catch (err) {
      if (force) throw err;
      log.warn('htpasswd file unreadable; keeping the previous users', { file: this.file, error: (err as Error).message });
      return;
    }
    if (!force && st.mtimeMs === this.mtimeMs) return;
    this.mtimeMs = st.mtimeMs;
    this.users = parseHtpasswd(await fs.readFile(this.file, 'utf8'), this.file);
    this.verified.clear(); // a removed user or changed password must stop working now
  }
}

/** user:hash lines; comments and blank lines skipped; non-bcrypt entries refused with a warning. */
export function parseHtpasswd(text: string, file = 'htpasswd'): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      log.warn('htpasswd: only bcrypt entries are supported (htpasswd -B); skipping user', { file, user });
      continue;
    }
    users.set(user, hash);
  }
  return users;
}
