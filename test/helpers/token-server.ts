// A registry front with token auth, like Docker Hub's registry + auth.docker.io, for tests: one HTTP server on
// 127.0.0.1 that
//   - answers /token (GET with Basic credentials, or the OAuth POST form with grant_type=password|refresh_token)
//     with tokens for the scopes asked, granting each user what it may (read-only users: pull only;
//     anonymous: pull or nothing), and refresh tokens (identity tokens) when offline_token=true;
//   - proxies /v2/… to an upstream registry (docker-registry without auth), answering 401 with
//     WWW-Authenticate: Bearer realm="<url>/token",service="…",scope="repository:<name>:<actions>"
//     unless the request carries a token with that access (error="invalid_token" for unknown/expired tokens,
//     error="insufficient_scope" for tokens lacking the access).
import { randomBytes } from 'crypto';
import * as http from 'http';
import * as net from 'net';

export interface TokenRegistryOptions {
  /** name → password */
  users: Record<string, string>;
  /** The registry behind: 'http://127.0.0.1:port'. */
  upstream: string;
  /** Users that may only pull. */
  readOnly?: string[];
  /** What requests without credentials get. Default 'none'. */
  anonymous?: 'pull' | 'none';
  /** The service name in challenges and token requests. Default 'test-registry'. */
  service?: string;
  /** Token lifetime in seconds (expires_in). Default 300. */
  tokenTtlSeconds?: number;
}

export interface TokenRequestLog {
  method: 'GET' | 'POST';
  /** The authenticated user, if any. */
  user?: string;
  account?: string;
  scopes: string[];
  grantType?: string;
  clientId?: string;
  offline: boolean;
  /** Status answered. */
  status: number;
}

export interface TokenRegistry {
  /** 'http://127.0.0.1:port' */
  url: string;
  /** '127.0.0.1:port' */
  host: string;
  service: string;
  /** Every token request, in order. */
  tokenRequests: TokenRequestLog[];
  /** Every proxied registry request: method, path, status. */
  registryRequests: { method: string; path: string; status: number; authorization?: string }[];
  /** Makes every issued token invalid (simulates expiry on the server side). */
  revokeTokens(): void;
  stop(): Promise<void>;
}

interface Grant { user?: string; access: Map<string, Set<string>>; expires: number }

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
};

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => { s += d; });
    req.on('end', () => resolve(s));
    req.on('error', reject);
  });
}

/** Repository name and needed action of a /v2/<name>/(manifests|blobs|tags)/… request; undefined for /v2/. */
function accessFor(method: string, pathname: string): { name: string; action: string } | undefined {
  const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(pathname);
  if (!m) return undefined;
  return { name: m[1], action: method === 'GET' || method === 'HEAD' ? 'pull' : 'push' };
}

export function startTokenRegistry(opts: TokenRegistryOptions): Promise<TokenRegistry> {
  const service = opts.service ?? 'test-registry';
  const ttl = opts.tokenTtlSeconds ?? 300;
  const upstream = new URL(opts.upstream);
  const tokens = new Map<string, Grant>();
  const refreshTokens = new Map<string, string>();
  const tokenRequests: TokenRequestLog[] = [];
  const registryRequests: TokenRegistry['registryRequests'] = [];
  const sockets = new Set<net.Socket>();
  let origin = '';

  const allowed = (user: string | undefined): string[] => {
    if (user === undefined) return opts.anonymous === 'pull' ? ['pull'] : [];
    return opts.readOnly?.includes(user) ? ['pull'] : ['pull', 'push', 'delete'];
  };

  const issue = (user: string | undefined, scopes: string[], offline: boolean) => {
    const access = new Map<string, Set<string>>();
    for (const scope of scopes) {
      const m = /^repository:(.+):([^:]*)$/.exec(scope);
      if (!m) continue;
      const granted = m[2].split(',').filter((a) => allowed(user).includes(a));
      const set = access.get(m[1]) ?? new Set<string>();
      for (const a of granted) set.add(a);
      access.set(m[1], set);
    }
    const token = randomBytes(16).toString('hex');
    tokens.set(token, { user, access, expires: Date.now() + ttl * 1000 });
    const body: Record<string, unknown> = { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() };
    if (offline && user !== undefined) {
      const refresh = randomBytes(16).toString('hex');
      refreshTokens.set(refresh, user);
      body.refresh_token = refresh;
    }
    return body;
  };

  const handleToken = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const log: TokenRequestLog = { method: req.method === 'POST' ? 'POST' : 'GET', scopes: [], offline: false, status: 200 };
    tokenRequests.push(log);
    const refuse = (status: number, body: unknown) => { log.status = status; json(res, status, body); };
    let user: string | undefined;
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      log.grantType = form.get('grant_type') ?? undefined;
      log.clientId = form.get('client_id') ?? undefined;
      log.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      log.offline = form.get('access_type') === 'offline';
      if (log.grantType === 'refresh_token') {
        user = refreshTokens.get(form.get('refresh_token') ?? '');
        if (user === undefined) return refuse(401, { details: 'invalid refresh token' });
      } else if (log.grantType === 'password') {
        const name = form.get('username') ?? '';
        if (opts.users[name] === undefined || opts.users[name] !== form.get('password')) return refuse(401, { details: 'incorrect username or password' });
        user = name;
      } else {
        return refuse(400, { error: 'unsupported_grant_type' });
      }
      log.user = user;
      const body = issue(user, log.scopes, log.offline || log.grantType === 'refresh_token');
      if (log.grantType === 'refresh_token') body.refresh_token = form.get('refresh_token');
      return json(res, 200, body);
    }
    log.scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    log.account = url.searchParams.get('account') ?? undefined;
    log.clientId = url.searchParams.get('client_id') ?? undefined;
    log.offline = url.searchParams.get('offline_token') === 'true';
    const authz = req.headers.authorization;
    if (authz) {
      const m = /^Basic\s+(.+)$/i.exec(authz);
      const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      const name = decoded.slice(0, colon);
      if (colon <= 0 || opts.users[name] === undefined || opts.users[name] !== decoded.slice(colon + 1)) {
        return refuse(401, { details: 'incorrect username or password' });
      }
      user = name;
    }
    log.user = user;
    return json(res, 200, issue(user, log.scopes, log.offline));
  };

  const challenge = (scope: string | undefined, error?: string) => {
    let h = `Bearer realm="${origin}/token",service="${service}"`;
    if (scope) h += `,scope="${scope}"`;
    if (error) h += `,error="${error}"`;
    return h;
  };

  const handleRegistry = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const entry = { method: req.method ?? 'GET', path: url.pathname + url.search, status: 0, authorization: req.headers.authorization };
    registryRequests.push(entry);
    const deny = (status: number, scope: string | undefined, error: string | undefined, detail: unknown) => {
      entry.status = status;
      req.resume();
      json(res, status, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail }] }, { 'www-authenticate': challenge(scope, error) });
    };
    const need = accessFor(req.method ?? 'GET', url.pathname);
    const scope = need ? `repository:${need.name}:${need.action === 'push' ? 'pull,push' : 'pull'}` : undefined;
    const detail = need ? [{ Type: 'repository', Class: '', Name: need.name, Action: need.action }] : null;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return deny(401, scope, undefined, detail);
    const grant = tokens.get(m[1]);
    if (!grant || grant.expires < Date.now()) return deny(401, scope, 'invalid_token', detail);
    if (need && !grant.access.get(need.name)?.has(need.action)) return deny(401, scope, 'insufficient_scope', detail);
    // a cross-repository mount the token cannot read from becomes a plain upload, as distribution does
    if (url.searchParams.has('mount')) {
      const from = url.searchParams.get('from') ?? '';
      if (!grant.access.get(from)?.has('pull')) { url.searchParams.delete('mount'); url.searchParams.delete('from'); }
    }
    const headers = { ...req.headers, host: req.headers.host ?? '' };
    delete headers.authorization;
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: url.pathname + url.search, headers }, (ures) => {
      entry.status = ures.statusCode ?? 0;
      const h = { ...ures.headers };
      if (typeof h.location === 'string' && h.location.startsWith(upstream.origin)) h.location = origin + h.location.slice(upstream.origin.length);
      res.writeHead(ures.statusCode ?? 502, h);
      ures.pipe(res);
    });
    up.on('error', (err) => {
      entry.status = 502;
      if (!res.headersSent) json(res, 502, { errors: [{ code: 'UNAVAILABLE', message: err.message }] });
      else res.destroy();
    });
    req.on('aborted', () => up.destroy());
    req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/token') {
      handleToken(req, res, url).catch((err) => json(res, 500, { details: String(err) }));
      return;
    }
    if (url.pathname === '/v2' || url.pathname.startsWith('/v2/')) return handleRegistry(req, res, url);
    json(res, 404, { details: 'not found' });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.keepAliveTimeout = 30_000;

  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      origin = `http://127.0.0.1:${port}`;
      resolve({
        url: origin,
        host: `127.0.0.1:${port}`,
        service,
        tokenRequests,
        registryRequests,
        revokeTokens: () => tokens.clear(),
        stop: () => new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}
