// The registry browser: repositories (the v2 catalog), tags, manifests and sizes of any Docker Registry v2 /
// OCI distribution registry — berth's own `registry serve` or another — with the logins the page gave.
// Credentials live in this process's memory only (or come from docker's config.json, as the CLI's do).
import {
  AuthConfig, RegistryClient, encodeRegistryAuthHeader, getCredentials, credentialKey, login,
  nodeTransport, parseChallenges, resolveEndpoint, parseManifest, RegistryEndpoint, HttpResponse,
} from '../../distribution';
import { HttpError } from './http-util';

/** Registry logins made from the dashboard, by domain (host[:port]). */
export class RegistryLogins {
  private readonly byDomain = new Map<string, AuthConfig>();

  async login(domain: string, username: string, password: string): Promise<void> {
    const auth: AuthConfig = { username, password, serveraddress: domain };
    try {
      await login(resolveEndpoint(domain), auth);
    } catch (err) {
      throw new HttpError(401, (err as Error).message);
    }
    this.byDomain.set(domain, auth);
  }

  logout(domain: string): void { this.byDomain.delete(domain); }
  domains(): string[] { return [...this.byDomain.keys()]; }

  /** The dashboard's own login for the domain, else docker's config.json (or its credential helper). */
  async authFor(domain: string): Promise<AuthConfig | undefined> {
    return this.byDomain.get(domain) ?? await getCredentials(credentialKey(domain)).catch(() => undefined);
  }

  /** X-Registry-Auth for a pull or push ("e30=" is the empty config the docker CLI sends). */
  async headerFor(domain: string): Promise<string> {
    const auth = await this.authFor(domain);
    return auth ? encodeRegistryAuthHeader({ ...auth, serveraddress: credentialKey(domain) }) : 'e30=';
  }
}

export interface ManifestView {
  mediaType: string;
  digest: string;
  /** bytes of the manifest document itself */
  size: number;
  /** for an image: config + layers (compressed, as stored); for an index: the sum of its manifests' sizes */
  totalSize: number;
  layers?: Array<{ digest: string; size: number; mediaType: string }>;
  config?: { digest: string; size: number; os?: string; architecture?: string; created?: string };
  manifests?: Array<{ digest: string; size: number; mediaType: string; platform?: string }>;
  raw: unknown;
}

const VALID_DOMAIN = /^[a-zA-Z0-9.-]+(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/;

export class RegistryBrowser {
  constructor(private readonly logins: RegistryLogins) {}

  static checkDomain(domain: string): string {
    if (!VALID_DOMAIN.test(domain)) throw new HttpError(400, `invalid registry address ${JSON.stringify(domain)}: use host[:port]`);
    return domain;
  }

  /** GET /v2/_catalog with its pagination; token scope registry:catalog:*. */
  async catalog(domain: string, limit = 1000): Promise<string[]> {
    const ep = resolveEndpoint(RegistryBrowser.checkDomain(domain));
    const auth = await this.logins.authFor(domain);
    const repos: string[] = [];
    let next: string | undefined = `/v2/_catalog?n=${limit}`;
    for (let page = 0; next && page < 100; page++) {
      const res = await this.get(ep, next, auth, 'registry:catalog:*');
      const doc = JSON.parse((await res.bytes(16 << 20)).toString('utf8')) as { repositories?: unknown };
      if (Array.isArray(doc.repositories)) for (const r of doc.repositories) if (typeof r === 'string') repos.push(r);
      const link = res.header('link');
      const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      next = m ? m[1] : undefined;
    }
    return repos;
  }

  async tags(domain: string, repo: string): Promise<string[]> {
    return (await this.repoClient(domain, repo)).listTags();
  }

  async manifest(domain: string, repo: string, reference: string): Promise<ManifestView> {
    const client = await this.repoClient(domain, repo);
    const m = await client.getManifest(reference);
    const parsed = parseManifest(m.bytes, m.mediaType);
    const raw = JSON.parse(m.bytes.toString('utf8'));
    const view: ManifestView = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, totalSize: 0, raw };
    if (parsed.kind === 'index') {
      view.manifests = parsed.index.manifests.map((d) => ({
        digest: d.digest, size: d.size, mediaType: d.mediaType,
        platform: d.platform ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/') : undefined,
      }));
      view.totalSize = view.manifests.reduce((n, d) => n + d.size, 0);
    } else {
      const man = parsed.manifest;
      view.layers = man.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
      view.config = { digest: man.config.digest, size: man.config.size };
      view.totalSize = man.config.size + view.layers.reduce((n, l) => n + l.size, 0);
      try {
        const cfg = JSON.parse((await client.getBlob(man.config.digest, { maxSize: 4 << 20 })).toString('utf8')) as { os?: string; architecture?: string; created?: string };
        Object.assign(view.config, { os: cfg.os, architecture: cfg.architecture, created: cfg.created });
      } catch { /* the config is a nicety; sizes are known without it */ }
    }
    return view;
  }

  private async repoClient(domain: string, repo: string): Promise<RegistryClient> {
    const ep = resolveEndpoint(RegistryBrowser.checkDomain(domain));
    try {
      return new RegistryClient(ep, repo, { auth: await this.logins.authFor(domain), actions: ['pull'], maxRetries: 1 });
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
  }

  /** A GET to the registry's own API answering its auth challenge once (Bearer token or Basic). */
  private async get(ep: RegistryEndpoint, path: string, auth: AuthConfig | undefined, scope: string): Promise<HttpResponse> {
    const bases = [ep.baseUrl, ...(ep.fallbackUrl ? [ep.fallbackUrl] : [])];
    let lastErr: unknown;
    for (const base of bases) {
      const url = new URL(path, base);
      let res: HttpResponse;
      try {
        res = await nodeTransport({ method: 'GET', url, insecureTls: ep.insecure, idleTimeoutMs: 15_000 });
      } catch (err) { lastErr = err; continue; }
      if (res.status === 401) {
        const challenges = parseChallenges(res.headerValues('www-authenticate'));
        res.discard();
        const authorization = await this.authorize(challenges, auth, scope, ep);
        res = await nodeTransport({ method: 'GET', url, headers: { authorization }, insecureTls: ep.insecure, idleTimeoutMs: 15_000 });
      }
      if (res.status !== 200) {
        const text = (await res.bytes(64 << 10).catch(() => Buffer.alloc(0))).toString('utf8');
        throw new HttpError(res.status === 401 ? 401 : 502, registryErrorText(res.status, text));
      }
      return res;
    }
    throw new HttpError(502, `registry ${ep.domain} is unreachable: ${(lastErr as Error | undefined)?.message ?? 'no answer'}`);
  }

  private async authorize(challenges: ReturnType<typeof parseChallenges>, auth: AuthConfig | undefined, scope: string, ep: RegistryEndpoint): Promise<string> {
    const basic = auth?.username ? 'Basic ' + Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64') : undefined;
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      const u = new URL(bearer.params.realm);
      if (bearer.params.service) u.searchParams.set('service', bearer.params.service);
      u.searchParams.set('scope', scope);
      const res = await nodeTransport({ method: 'GET', url: u, headers: basic ? { authorization: basic } : {}, insecureTls: ep.insecure, idleTimeoutMs: 15_000 });
      const text = (await res.bytes(1 << 20)).toString('utf8');
      if (res.status !== 200) throw new HttpError(401, `token server refused: ${res.status} ${text.slice(0, 200)}`);
      const doc = JSON.parse(text) as { token?: string; access_token?: string };
      return `Bearer ${doc.token ?? doc.access_token ?? ''}`;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!basic) throw new HttpError(401, `${ep.domain} needs a login`);
      return basic;
    }
    throw new HttpError(401, `${ep.domain} asked for an unsupported authentication`);
  }
}

function registryErrorText(status: number, body: string): string {
  try {
    const doc = JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    if (e) return `${status}: ${e.code ?? ''} ${e.message ?? ''}`.trim();
  } catch { /* not JSON */ }
  return `${status}: ${body.slice(0, 200) || 'no body'}`;
}


