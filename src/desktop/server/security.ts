// The dashboard's front door: which Host and Origin values a request may carry (DNS rebinding and cross-site
// requests), the one-time launch tokens that `berth desktop` prints, and the session cookie a token is
// exchanged for. Pure logic over header values, so it is unit-tested without a server.
import { randomBytes, timingSafeEqual } from 'crypto';

export const SESSION_COOKIE = 'berth_desktop';

/** Host header values a browser sends for the loopback listener on `port`. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Origins (scheme://host:port) allowed to change state or open a websocket. */
export function allowedOrigins(port: number): Set<string> {
  return new Set([...allowedHosts(port)].map((h) => `http://${h}`));
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Methods that never change state; everything else must prove it comes from the dashboard's own page. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class Guard {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;
  /** Launch tokens not yet exchanged (each works once). */
  private readonly tokens = new Map<string, number>();
  private readonly sessions = new Set<string>();

  constructor(readonly port: number, private readonly tokenTtlMs = 10 * 60_000) {
    this.hosts = allowedHosts(port);
    this.origins = allowedOrigins(port);
  }

  /** A new one-time launch token (printed in the URL by `berth desktop`). */
  issueToken(now = Date.now()): string {
    const t = randomBytes(24).toString('base64url');
    this.tokens.set(t, now + this.tokenTtlMs);
    return t;
  }

  /** Exchanges a launch token for a session id; undefined for an unknown, used or expired token. */
  exchange(token: string, now = Date.now()): string | undefined {
    let found: string | undefined;
    for (const [t, expires] of this.tokens) {
      if (expires < now) { this.tokens.delete(t); continue; }
      if (sameSecret(t, token)) found = t;
    }
    if (!found) return undefined;
    this.tokens.delete(found);
    const session = randomBytes(32).toString('base64url');
    this.sessions.add(session);
    return session;
  }

  /** Host header check: only the loopback names of our own port (a rebinding DNS name is refused). */
  checkHost(host: string | undefined): Verdict {
    if (host && this.hosts.has(host.toLowerCase())) return { ok: true };
    return { ok: false, reason: `Host ${JSON.stringify(host ?? '')} is not allowed` };
  }

  /** Origin check for state-changing requests and websocket upgrades: it must be present and our own. */
  checkOrigin(origin: string | undefined): Verdict {
    if (origin && this.origins.has(origin.toLowerCase())) return { ok: true };
    return { ok: false, reason: origin ? `Origin ${JSON.stringify(origin)} is not allowed` : 'Origin header required' };
  }

  /** True when the Cookie header carries a live session. */
  hasSession(cookieHeader: string | undefined): boolean {
    const id = readCookie(cookieHeader, SESSION_COOKIE);
    if (!id) return false;
    for (const s of this.sessions) if (sameSecret(s, id)) return true;
    return false;
  }

  /** The Set-Cookie value for a session: not readable by scripts, never sent cross-site. */
  static sessionCookie(session: string): string {
    return `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
