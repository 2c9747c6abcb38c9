// Registry authentication: the AuthConfig docker passes around (X-Registry-Auth), and the handling of the
// registry's challenges. Basic challenges get the user's credentials; Bearer challenges get a token from the
// realm, fetched like docker's registry client does: GET realm?service=…&scope=… with Basic credentials (and
// account=user), or — with an identity token (OAuth refresh token) — POST grant_type=refresh_token to the realm.
// Tokens are cached per realm/service/scopes/credentials until they expire (expires_in, at least 60 s), and
// concurrent requests for the same token share one fetch.
import { createHash } from 'crypto';
import { Challenge } from './challenge';
import { RegistryError, transportError } from './errors';
import { errorFromResponse } from './http-errors';
import { Transport } from './transport';

/** docker's AuthConfig (api/types/registry): what `docker login` stores and X-Registry-Auth carries. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64("user:password") */
  auth?: string;
  email?: string;
  serveraddress?: string;
  /** OAuth refresh token from a token-server login; used instead of the password. */
  identitytoken?: string;
  /** A bearer token for the registry itself, sent as is. */
  registrytoken?: string;
}

const AUTH_KEYS: (keyof AuthConfig)[] = ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'];

/**
 * Decodes X-Registry-Auth: base64url (docker CLI) or standard base64, padded or not, of the AuthConfig JSON.
 * Keys match case-insensitively like Go's encoding/json. Undefined when absent, malformed or empty (dockerd
 * ignores a bad header too).
 */
export function decodeRegistryAuthHeader(header: string | undefined): AuthConfig | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const out: AuthConfig = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = AUTH_KEYS.find((a) => a === k.toLowerCase());
    if (key && typeof v === 'string' && v !== '') out[key] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** What the docker CLI sends as X-Registry-Auth: base64url (with padding) of the JSON, empty fields left out. */
export function encodeRegistryAuthHeader(auth: AuthConfig): string {
  const doc: Record<string, string> = {};
  for (const k of AUTH_KEYS) {
    const v = auth[k];
    if (typeof v === 'string' && v !== '') doc[k] = v;
  }
  return Buffer.from(JSON.stringify(doc)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** username/password, taken from `auth` (base64 "user:pass") when not given directly. */
export function basicCredentials(auth: AuthConfig | undefined): { username: string; password: string } | undefined {
  if (!auth) return undefined;
  if (auth.username && auth.password) return { username: auth.username, password: auth.password };
  if (auth.auth) {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      const username = decoded.slice(0, colon);
      const password = decoded.slice(colon + 1).replace(/\0+$/, '');
      if (password) return { username, password };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Bearer tokens

export interface TokenOptions {
  transport: Transport;
  insecureTls?: boolean;
  userAgent?: string;
  /** Ask for a refresh token (offline_token=true), as `docker login` does. */
  offline?: boolean;
  /** OAuth2 client id; docker's is 'docker'. */
  clientId?: string;
  /** Use the POST form with grant_type=password even without an identity token. */
  forceOAuth?: boolean;
  /** Base for a relative realm. */
  baseUrl?: string;
  signal?: AbortSignal;
}

export interface TokenResult {
  token: string;
  /** ms since epoch */
  expiresAt: number;
  /** A refresh token the token server handed out (becomes the identity token after login). */
  refreshToken?: string;
}

/** Tokens live at least this long, whatever the server says (older clients assumed 60 s). */
const MIN_TOKEN_LIFETIME_S = 60;
const TOKEN_BODY_LIMIT = 1 << 20;
const DEFAULT_CLIENT_ID = 'docker';

function parseTokenBody(bytes: Buffer): TokenResult {
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown; refresh_token?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RegistryError(`unable to decode token response: ${(err as Error).message}`, { kind: 'protocol' });
  }
  // access_token and token mean the same; docker prefers access_token when both are present
  const token = typeof doc.access_token === 'string' && doc.access_token ? doc.access_token
    : typeof doc.token === 'string' && doc.token ? doc.token : '';
  if (!token) throw new RegistryError('authorization server did not include a token in the response', { kind: 'protocol' });
  let lifetime = typeof doc.expires_in === 'number' ? doc.expires_in : 0;
  if (lifetime < MIN_TOKEN_LIFETIME_S) lifetime = MIN_TOKEN_LIFETIME_S;
  const issued = typeof doc.issued_at === 'string' ? Date.parse(doc.issued_at) : NaN;
  // a skewed server clock must not make a fresh token look expired
  const base = Number.isFinite(issued) && Math.abs(issued - Date.now()) < 5 * 60_000 ? issued : Date.now();
  const out: TokenResult = { token, expiresAt: base + lifetime * 1000 };
  if (typeof doc.refresh_token === 'string' && doc.refresh_token) out.refreshToken = doc.refresh_token;
  return out;
}

/**
 * Fetches a token for `scopes` from the realm of a Bearer challenge. Errors are the token server's (e.g.
 * "unauthorized: incorrect username or password") or transport errors of the token request; callers wrap them
 * as the failure of the request they were authorizing.
 */
export async function fetchToken(params: Record<string, string>, scopes: readonly string[], auth: AuthConfig | undefined, opts: TokenOptions): Promise<TokenResult> {
  const realm = params.realm;
  if (!realm) throw new RegistryError('no realm specified for token auth challenge', { kind: 'protocol' });
  let realmUrl: URL;
  try {
    realmUrl = new URL(realm, opts.baseUrl);
  } catch (err) {
    throw new RegistryError(`invalid token auth challenge realm: ${(err as Error).message}`, { kind: 'protocol' });
  }
  const service = params.service ?? '';
  const clientId = opts.clientId ?? DEFAULT_CLIENT_ID;
  const creds = basicCredentials(auth);
  const refreshToken = auth?.identitytoken;
  const headers: Record<string, string> = {};
  if (opts.userAgent) headers['user-agent'] = opts.userAgent;

  if (refreshToken || (opts.forceOAuth && creds)) {
    const form = new URLSearchParams();
    form.set('scope', scopes.join(' '));
    form.set('service', service);
    form.set('client_id', clientId);
    if (refreshToken) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', refreshToken);
    } else {
      form.set('grant_type', 'password');
      form.set('username', creds!.username);
      form.set('password', creds!.password);
      form.set('access_type', 'offline');
    }
    headers['content-type'] = 'application/x-www-form-urlencoded';
    const body = Buffer.from(form.toString());
    let res;
    try {
      res = await opts.transport({ method: 'POST', url: realmUrl, headers, body, insecureTls: opts.insecureTls, signal: opts.signal });
    } catch (err) {
      throw transportError(err, 'POST', realmUrl);
    }
    if (res.status < 200 || res.status > 399) throw await errorFromResponse(res);
    const result = parseTokenBody(await res.bytes(TOKEN_BODY_LIMIT));
    if (refreshToken && !result.refreshToken) result.refreshToken = refreshToken;
    return result;
  }

  const url = new URL(realmUrl);
  if (service) url.searchParams.append('service', service);
  for (const s of scopes) url.searchParams.append('scope', s);
  if (opts.offline) {
    url.searchParams.append('offline_token', 'true');
    url.searchParams.append('client_id', clientId);
  }
  if (creds) {
    url.searchParams.append('account', creds.username);
    headers.authorization = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
  }
  let res;
  try {
    res = await opts.transport({ method: 'GET', url, headers, insecureTls: opts.insecureTls, signal: opts.signal });
  } catch (err) {
    throw transportError(err, 'GET', url);
  }
  if (res.status < 200 || res.status > 399) throw await errorFromResponse(res);
  return parseTokenBody(await res.bytes(TOKEN_BODY_LIMIT));
}

interface CachedToken { token: string; expiresAt: number }
const tokenCache = new Map<string, CachedToken>();
const inflight = new Map<string, Promise<TokenResult>>();
/** Renew this long before the announced expiry. */
const EXPIRY_MARGIN_MS = 5_000;

function credentialId(auth: AuthConfig | undefined): string {
  const c = basicCredentials(auth);
  return createHash('sha256').update(`${c?.username ?? ''}\0${c?.password ?? ''}\0${auth?.identitytoken ?? ''}`).digest('hex');
}

function cacheKey(params: Record<string, string>, scopes: readonly string[], auth: AuthConfig | undefined): string {
  return [params.realm ?? '', params.service ?? '', [...scopes].sort().join(' '), credentialId(auth)].join('\n');
}

/** A token for these scopes: from the cache while valid, else fetched (one fetch for concurrent callers). */
export async function getToken(params: Record<string, string>, scopes: readonly string[], auth: AuthConfig | undefined, opts: TokenOptions): Promise<string> {
  const key = cacheKey(params, scopes, auth);
  const hit = tokenCache.get(key);
  if (hit && hit.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return hit.token;
  let pending = inflight.get(key);
  if (!pending) {
    pending = fetchToken(params, scopes, auth, opts).finally(() => inflight.delete(key));
    inflight.set(key, pending);
  }
  const result = await pending;
  tokenCache.set(key, { token: result.token, expiresAt: result.expiresAt });
  return result.token;
}

/** Drops a cached token (the registry called it invalid). */
export function invalidateToken(params: Record<string, string>, scopes: readonly string[], auth: AuthConfig | undefined): void {
  tokenCache.delete(cacheKey(params, scopes, auth));
}

/** Tests: forget every cached token. */
export function clearTokenCache(): void {
  tokenCache.clear();
}

/**
 * Authorizes requests to one registry for one set of scopes, from the challenges the registry sent (at ping or
 * on a 401). Bearer wins over Basic when both are offered.
 */
export class Authorizer {
  private challenges: Challenge[] = [];

  constructor(private readonly auth: AuthConfig | undefined, private readonly scopes: readonly string[], private readonly opts: TokenOptions) {}

  setChallenges(challenges: Challenge[]): void {
    this.challenges = challenges.filter((c) => c.scheme === 'bearer' || c.scheme === 'basic');
  }

  get hasChallenges(): boolean {
    return this.challenges.length > 0;
  }

  private bearer(): Challenge | undefined {
    return this.challenges.find((c) => c.scheme === 'bearer');
  }

  private allScopes(extra: readonly string[]): string[] {
    const out = [...this.scopes];
    for (const s of extra) if (!out.includes(s)) out.push(s);
    return out;
  }

  /** The Authorization header for a request, or undefined when the registry asked for none. */
  async authorization(extraScopes: readonly string[] = [], signal?: AbortSignal): Promise<string | undefined> {
    const bearer = this.bearer();
    if (bearer) {
      if (this.auth?.registrytoken) return `Bearer ${this.auth.registrytoken}`;
      const token = await getToken(bearer.params, this.allScopes(extraScopes), this.auth, { ...this.opts, signal });
      return `Bearer ${token}`;
    }
    if (this.challenges.some((c) => c.scheme === 'basic')) {
      const creds = basicCredentials(this.auth);
      if (!creds) throw new RegistryError('no basic auth credentials', { kind: 'auth' });
      return 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
    }
    return undefined;
  }

  /** Forgets the cached token used for these scopes. */
  invalidate(extraScopes: readonly string[] = []): void {
    const bearer = this.bearer();
    if (bearer) invalidateToken(bearer.params, this.allScopes(extraScopes), this.auth);
  }
}
