// The registry API v2 for one repository: manifests, blobs (resumable download, resumable upload, cross-repo
// mount), tags. Requests go through `send`, which pings /v2/ once (deciding https or, for insecure registries,
// the http fallback, and learning the auth challenges), authorizes (Bearer token for this repository's scopes
// or Basic), retries once after a 401 that brought new challenges or a stale keep-alive connection, and
// follows redirects for GET/HEAD without sending credentials to other hosts.
import { createHash } from 'crypto';
import { AuthConfig, Authorizer } from './auth';
import { parseChallenges, repositoryScope } from './challenge';
import { candidateUrls, RegistryEndpoint, rememberWorkingUrl } from './endpoint';
import { isAbort, RegistryError, transportError, wrapAuthError } from './errors';
import { errorFromResponse } from './http-errors';
import { detectManifestMediaType, isImageManifestMediaType, isIndexMediaType, isSchema1MediaType, MANIFEST_ACCEPT } from './media-types';
import { BodySourceError, fetchTransport, HttpResponse, nodeTransport, RequestBody, Transport } from './transport';

export type Action = 'pull' | 'push';

export interface RegistryClientOptions {
  auth?: AuthConfig;
  /** Token scopes asked for this repository ('pull', or 'push' + 'pull' for pushes). */
  actions: Action[];
  userAgent?: string;
  /** Use this fetch implementation instead of Node's http/https. */
  fetchImpl?: typeof fetch;
  /** Or a transport of your own (takes precedence over fetchImpl). */
  transport?: Transport;
  /** Retries of a blob transfer (download resumes, upload resumes/restarts). Default 5. */
  maxRetries?: number;
  /** First retry delay (ms); doubles per attempt, capped at 5 s. Default 250. */
  retryDelayMs?: number;
  /** A connection idle this long (ms) counts as broken. Default 60 s. */
  idleTimeoutMs?: number;
}

export interface FetchBlobOptions {
  /** Expected size: short reads are detected against it (otherwise against Content-Length). */
  size?: number;
  /** Hash while streaming and throw at the end when the digest does not match. Default false. */
  verify?: boolean;
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
}

export interface PushBlobOptions {
  /**
   * Progress: called with each increment. After a restart it is called with a negative number so that the sum
   * of all calls is always the position of the upload.
   */
  onBytes?: (n: number) => void;
  signal?: AbortSignal;
  /** Upload in PATCH requests of this many bytes (Content-Range) then PUT ?digest=; default: one PUT with the body. */
  chunkSize?: number;
}

export type BlobSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | NodeJS.ReadableStream;

const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_REDIRECTS = 10;
const REFERENCE_RE = /^(?:[\w][\w.-]{0,127}|[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const HASHES: Record<string, string> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

const isDigest = (ref: string) => DIGEST_RE.test(ref) && ref.includes(':');

/** 'sha256:<hex>' of the bytes with the algorithm of `like` (default sha256). */
export function digestOf(bytes: Uint8Array, like = 'sha256:'): string {
  const alg = like.slice(0, like.indexOf(':'));
  const hash = HASHES[alg];
  if (!hash) throw new RegistryError(`unsupported digest algorithm ${alg}`, { kind: 'protocol' });
  return `${alg}:${createHash(hash).update(bytes).digest('hex')}`;
}

function checkDigest(digest: string): void {
  if (!DIGEST_RE.test(digest) || !HASHES[digest.slice(0, digest.indexOf(':'))]) {
    throw new RegistryError(`invalid digest ${JSON.stringify(digest)}`, { kind: 'protocol' });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason ?? abortError()); return; }
    const onAbort = () => { clearTimeout(t); reject(signal!.reason ?? abortError()); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  return e;
}

/** Async iterable of Uint8Array from a stream or iterable that may yield strings. */
async function* bytesOf(source: BlobSource): AsyncGenerator<Uint8Array> {
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}

/** Pulls exact byte counts out of one stream, for chunked uploads. */
class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private rest?: Uint8Array;
  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }
  async *take(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      let chunk = this.rest;
      this.rest = undefined;
      if (!chunk) {
        const r = await this.it.next();
        if (r.done) throw new Error('upload source ended early');
        chunk = r.value;
      }
      if (chunk.length > left) {
        this.rest = chunk.subarray(left);
        chunk = chunk.subarray(0, left);
      }
      left -= chunk.length;
      if (chunk.length) yield chunk;
    }
  }
  async close(): Promise<void> {
    try { await this.it.return?.(); } catch { /* closing only */ }
  }
}

/** Exactly `expected` bytes of `source`, else an error (the body source is wrong, not the network). */
async function* exactly(source: AsyncIterable<Uint8Array>, expected: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > expected) throw new Error(`upload source has more than the announced ${expected} bytes`);
    yield chunk;
  }
  if (seen < expected) throw new Error(`upload source ended after ${seen} of ${expected} bytes`);
}

interface SendOptions {
  headers?: Record<string, string>;
  body?: RequestBody;
  /** The request can be sent again (no body, or a buffer). */
  replayable?: boolean;
  extraScopes?: string[];
  signal?: AbortSignal;
  followRedirects?: boolean;
  onBodyBytes?: (n: number) => void;
}

export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  readonly repository: string;
  private readonly transport: Transport;
  private readonly authorizer: Authorizer;
  private readonly userAgent: string;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;
  private readonly idleTimeoutMs?: number;
  private base?: string;
  private pinging?: Promise<void>;
  /** Upload sessions a refused mount opened, kept for the pushBlob that follows. */
  private readonly pendingUploads = new Map<string, URL>();

  constructor(endpoint: RegistryEndpoint, repository: string, opts: RegistryClientOptions) {
    if (!REPOSITORY_RE.test(repository)) throw new RegistryError(`invalid repository name ${JSON.stringify(repository)}`, { kind: 'protocol' });
    this.endpoint = endpoint;
    this.repository = repository;
    this.transport = opts.transport ?? (opts.fetchImpl ? fetchTransport(opts.fetchImpl) : nodeTransport);
    this.userAgent = opts.userAgent ?? 'berth/0.1.0';
    this.maxRetries = opts.maxRetries ?? 5;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
    this.idleTimeoutMs = opts.idleTimeoutMs;
    const actions = opts.actions.length ? opts.actions : ['pull'];
    this.authorizer = new Authorizer(opts.auth, [repositoryScope(repository, actions)], {
      transport: this.transport, insecureTls: endpoint.insecure, userAgent: this.userAgent, clientId: 'docker',
    });
  }

  // ------------------------------------------------------------------------------------------- plumbing

  /** GET /v2/ once: picks the scheme (https, or http for insecure registries) and learns the challenges. */
  private prepare(signal?: AbortSignal): Promise<void> {
    if (!this.pinging) {
      this.pinging = this.ping(signal).catch((err) => {
        this.pinging = undefined;
        throw err;
      });
    }
    return this.pinging;
  }

  private async ping(signal?: AbortSignal): Promise<void> {
    let lastErr: unknown;
    for (const base of candidateUrls(this.endpoint)) {
      const url = new URL('/v2/', base);
      let res: HttpResponse;
      try {
        res = await this.transport({ method: 'GET', url, headers: { 'user-agent': this.userAgent }, insecureTls: this.endpoint.insecure, signal, idleTimeoutMs: 15_000 });
      } catch (err) {
        if (isAbort(err)) throw err;
        // when all fail, report the plain-http attempt like docker (which always tries it last)
        if (lastErr === undefined || base === this.endpoint.fallbackUrl) lastErr = transportError(err, 'GET', url);
        continue;
      }
      if (res.status === 401) this.authorizer.setChallenges(parseChallenges(res.headerValues('www-authenticate')));
      res.discard();
      this.base = base.replace(/\/+$/, '');
      rememberWorkingUrl(this.endpoint, base);
      return;
    }
    throw lastErr;
  }

  /** The base URL in use (after the first request): 'https://registry-1.docker.io', 'http://127.0.0.1:5000'. */
  get baseUrl(): string | undefined {
    return this.base;
  }

  /** A URL under /v2/<repository>; pings first when that has not happened yet. */
  private async repoUrl(path: string, signal?: AbortSignal): Promise<URL> {
    await this.prepare(signal);
    return new URL(`${this.base}/v2/${this.repository}${path}`);
  }

  private async send(method: string, url: URL, o: SendOptions = {}): Promise<HttpResponse> {
    await this.prepare(o.signal);
    const origin = new URL(this.base!).origin;
    const replayable = o.replayable ?? (o.body === undefined || o.body instanceof Uint8Array);
    let authRetried = false;
    let connRetried = false;
    for (;;) {
      const headers: Record<string, string> = { 'user-agent': this.userAgent, ...o.headers };
      let authz: string | undefined;
      if (url.origin === origin) {
        try {
          authz = await this.authorizer.authorization(o.extraScopes, o.signal);
        } catch (err) {
          if (isAbort(err)) throw err;
          throw wrapAuthError(err, method, url);
        }
        if (authz) headers.authorization = authz;
      }
      let res: HttpResponse;
      try {
        res = await this.transport({ method, url, headers, body: o.body, insecureTls: this.endpoint.insecure, signal: o.signal, idleTimeoutMs: this.idleTimeoutMs, onBodyBytes: o.onBodyBytes });
      } catch (err) {
        if (o.signal?.aborted) throw o.signal.reason ?? abortError();
        if (isAbort(err) || err instanceof BodySourceError) throw err;
        // a keep-alive connection the server had closed: send once more on a fresh one
        const code = (err as NodeJS.ErrnoException).code;
        if (!connRetried && replayable && (code === 'ECONNRESET' || code === 'EPIPE')) {
          connRetried = true;
          continue;
        }
        throw transportError(err, method, url);
      }
      if (res.status === 401 && !authRetried && replayable) {
        const challenges = parseChallenges(res.headerValues('www-authenticate'));
        const bearer = challenges.find((c) => c.scheme === 'bearer');
        const sentScheme = authz?.split(' ')[0].toLowerCase();
        if (challenges.length > 0 && (authz === undefined || bearer?.params.error === 'invalid_token' || !challenges.some((c) => c.scheme === sentScheme))) {
          res.discard();
          if (authz !== undefined) this.authorizer.invalidate(o.extraScopes);
          this.authorizer.setChallenges(challenges);
          authRetried = true;
          continue;
        }
      }
      if (o.followRedirects && (method === 'GET' || method === 'HEAD')) return this.followRedirects(res, method, headers, o.signal);
      return res;
    }
  }

  /** Follows 301/302/303/307/308 for GET/HEAD; credentials only go to the registry's own origin. */
  private async followRedirects(res: HttpResponse, method: string, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    const origin = new URL(this.base!).origin;
    for (let hops = 0; [301, 302, 303, 307, 308].includes(res.status) && res.header('location'); hops++) {
      if (hops >= MAX_REDIRECTS) {
        res.discard();
        throw new RegistryError(`${method.charAt(0)}${method.slice(1).toLowerCase()} "${res.url}": stopped after ${MAX_REDIRECTS} redirects`, { kind: 'protocol' });
      }
      const next = new URL(res.header('location')!, res.url);
      res.discard();
      const h = { ...headers };
      if (next.origin !== origin) delete h.authorization;
      try {
        res = await this.transport({ method, url: next, headers: h, insecureTls: this.endpoint.insecure, signal, idleTimeoutMs: this.idleTimeoutMs });
      } catch (err) {
        if (isAbort(err)) throw err;
        throw transportError(err, method, next);
      }
    }
    return res;
  }

  private async fail(res: HttpResponse): Promise<never> {
    throw await errorFromResponse(res);
  }

  private backoff(attempt: number): number {
    return Math.min(this.retryDelayMs * 2 ** Math.max(0, attempt - 1), 5_000);
  }

  // ------------------------------------------------------------------------------------------- manifests

  /**
   * GET a manifest or index by tag or digest. By digest the bytes are verified against it; a
   * Docker-Content-Digest header, when present, is verified too. `digest` is the bytes' digest.
   */
  async getManifest(reference: string, opts: { signal?: AbortSignal } = {}): Promise<{ mediaType: string; digest: string; bytes: Buffer }> {
    if (!REFERENCE_RE.test(reference)) throw new RegistryError(`invalid tag or digest ${JSON.stringify(reference)}`, { kind: 'protocol' });
    const url = await this.repoUrl(`/manifests/${reference}`, opts.signal);
    const res = await this.send('GET', url, { headers: { accept: MANIFEST_ACCEPT }, replayable: true, followRedirects: true, signal: opts.signal });
    if (res.status !== 200) return this.fail(res);
    let bytes: Buffer;
    try {
      bytes = await res.bytes(MAX_MANIFEST_BYTES);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? abortError();
      if (isAbort(err)) throw err;
      if (/larger than/.test((err as Error).message)) {
        throw new RegistryError(`manifest too large: more than ${MAX_MANIFEST_BYTES} bytes`, { kind: 'protocol', status: 200 });
      }
      throw transportError(err, 'GET', url);
    }
    const expected = isDigest(reference) ? reference : undefined;
    const digest = digestOf(bytes, expected ?? 'sha256:');
    if (expected && digest !== expected) {
      throw new RegistryError(`manifest verification failed for digest ${expected}`, { kind: 'verify', status: 200 });
    }
    const header = res.header('docker-content-digest');
    if (header && DIGEST_RE.test(header) && HASHES[header.slice(0, header.indexOf(':'))] && digestOf(bytes, header) !== header) {
      throw new RegistryError(`manifest verification failed for digest ${header}`, { kind: 'verify', status: 200 });
    }
    const ct = res.header('content-type')?.split(';')[0].trim();
    const mediaType = ct && (isIndexMediaType(ct) || isImageManifestMediaType(ct) || isSchema1MediaType(ct)) ? ct : detectManifestMediaType(bytes, ct);
    return { mediaType, digest, bytes };
  }

  /** HEAD a manifest: its media type, digest and size, or undefined when the registry does not have it. */
  async headManifest(reference: string, opts: { signal?: AbortSignal } = {}): Promise<{ mediaType: string; digest: string; size: number } | undefined> {
    if (!REFERENCE_RE.test(reference)) throw new RegistryError(`invalid tag or digest ${JSON.stringify(reference)}`, { kind: 'protocol' });
    const url = await this.repoUrl(`/manifests/${reference}`, opts.signal);
    const res = await this.send('HEAD', url, { headers: { accept: MANIFEST_ACCEPT }, replayable: true, followRedirects: true, signal: opts.signal });
    res.discard();
    const digest = res.header('docker-content-digest');
    if (res.status >= 200 && res.status < 300 && digest && DIGEST_RE.test(digest)) {
      return { mediaType: res.header('content-type')?.split(';')[0].trim() ?? '', digest, size: Number(res.header('content-length') ?? 0) };
    }
    if (res.status === 404) return undefined;
    // no digest header, or an error without a body to explain it: GET tells more (as docker's client does)
    try {
      const m = await this.getManifest(reference, opts);
      return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404 && err.kind === 'response') return undefined;
      throw err;
    }
  }

  /** PUT a manifest under a tag or its digest; returns its digest. */
  async putManifest(reference: string, mediaType: string, bytes: Buffer, opts: { signal?: AbortSignal } = {}): Promise<string> {
    if (!REFERENCE_RE.test(reference)) throw new RegistryError(`invalid tag or digest ${JSON.stringify(reference)}`, { kind: 'protocol' });
    const digest = digestOf(bytes, isDigest(reference) ? reference : 'sha256:');
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryError(`manifest digest ${digest} does not match reference ${reference}`, { kind: 'verify' });
    }
    const res = await this.send('PUT', await this.repoUrl(`/manifests/${reference}`, opts.signal), {
      headers: { 'content-type': mediaType }, body: bytes, replayable: true, signal: opts.signal,
    });
    if (res.status < 200 || res.status >= 300) return this.fail(res);
    res.discard();
    return digest;
  }

  /** Every tag of the repository (following Link: <…>; rel="next" pages). */
  async listTags(opts: { signal?: AbortSignal } = {}): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | undefined = await this.repoUrl('/tags/list', opts.signal);
    for (let page = 0; url && page < 10_000; page++) {
      const res = await this.send('GET', url, { replayable: true, followRedirects: true, signal: opts.signal });
      if (res.status !== 200) return this.fail(res);
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse((await res.bytes(16 << 20)).toString('utf8'));
      } catch (err) {
        throw new RegistryError(`invalid tags list: ${(err as Error).message}`, { kind: 'protocol', status: 200 });
      }
      if (Array.isArray(doc.tags)) for (const t of doc.tags) if (typeof t === 'string') tags.push(t);
      const link = res.header('link');
      const next = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      url = next ? new URL(next[1], url) : undefined;
    }
    return tags;
  }

  // ------------------------------------------------------------------------------------------- blobs

  /** HEAD a blob: true when the repository has it. */
  async hasBlob(digest: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    checkDigest(digest);
    const res = await this.send('HEAD', await this.repoUrl(`/blobs/${digest}`, opts.signal), { replayable: true, followRedirects: true, signal: opts.signal });
    if (res.status >= 200 && res.status < 300) { res.discard(); return true; }
    if (res.status === 404) { res.discard(); return false; }
    return this.fail(res);
  }

  /**
   * Streams a blob. A dropped connection or a short body is resumed with Range: bytes=<offset>- (after a
   * backoff, up to maxRetries times without progress), so the consumer sees one continuous stream of the
   * socket's own chunks. With `verify`, the digest is checked at the end ("filesystem layer verification failed").
   */
  async *fetchBlob(digest: string, opts: FetchBlobOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    checkDigest(digest);
    const hash = opts.verify ? createHash(HASHES[digest.slice(0, digest.indexOf(':'))]) : undefined;
    const url = await this.repoUrl(`/blobs/${digest}`, opts.signal);
    let offset = 0;
    let total = opts.size;
    let attempt = 0;
    for (;;) {
      const startOffset = offset;
      try {
        const headers: Record<string, string> = {};
        if (offset > 0) headers.range = `bytes=${offset}-`;
        const res = await this.send('GET', url, { headers, replayable: true, followRedirects: true, signal: opts.signal });
        let skip = 0;
        if (res.status === 200) {
          skip = offset; // the server ignored Range: drop what we already have
          const len = Number(res.header('content-length') ?? NaN);
          if (Number.isFinite(len)) {
            if (total !== undefined && len !== total) { res.discard(); throw sizeMismatch(digest, total, len); }
            total = len;
          }
        } else if (res.status === 206 && offset > 0) {
          const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.header('content-range') ?? '');
          if (!m || Number(m[1]) > offset) {
            res.discard();
            throw new RegistryError(`bad Content-Range ${JSON.stringify(res.header('content-range'))} for a request from offset ${offset}`, { kind: 'protocol', status: 206, retryable: true });
          }
          skip = offset - Number(m[1]);
          if (m[3] !== '*') {
            if (total !== undefined && Number(m[3]) !== total) { res.discard(); throw sizeMismatch(digest, total, Number(m[3])); }
            total = Number(m[3]);
          }
        } else if (res.status === 416 && total !== undefined && offset >= total) {
          res.discard();
        } else {
          await this.fail(res);
        }
        if (res.status !== 416) {
          for await (const raw of res.body) {
            let chunk = raw;
            if (skip > 0) {
              if (chunk.length <= skip) { skip -= chunk.length; continue; }
              chunk = chunk.subarray(skip);
              skip = 0;
            }
            offset += chunk.length;
            if (total !== undefined && offset > total) throw sizeMismatch(digest, total, offset);
            hash?.update(chunk);
            opts.onBytes?.(chunk.length);
            yield chunk;
          }
        }
        if (total !== undefined && offset < total) {
          throw new RegistryError(requestText('GET', url, `unexpected EOF after ${offset} of ${total} bytes`), { kind: 'transport', retryable: true });
        }
        break;
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? abortError();
        if (isAbort(err)) throw err;
        const re = err instanceof RegistryError ? err : transportError(err, 'GET', url);
        if (!re.retryable) throw re;
        if (offset > startOffset) attempt = 0; // progress: a fresh budget of retries
        if (++attempt > this.maxRetries) throw re;
        await sleep(this.backoff(attempt), opts.signal);
      }
    }
    if (hash) {
      const got = `${digest.slice(0, digest.indexOf(':'))}:${hash.digest('hex')}`;
      if (got !== digest) throw new RegistryError(`filesystem layer verification failed for digest ${digest}`, { kind: 'verify', status: 200 });
    }
  }

  /** A whole (small) blob, verified: image configs. */
  async getBlob(digest: string, opts: { maxSize?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    const max = opts.maxSize ?? 8 << 20;
    const chunks: Uint8Array[] = [];
    let n = 0;
    try {
      for await (const c of this.fetchBlob(digest, { verify: true, signal: opts.signal })) {
        n += c.length;
        if (n > max) throw new RegistryError(`blob ${digest} is larger than ${max} bytes`, { kind: 'protocol' });
        chunks.push(c);
      }
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'verify') {
        throw new RegistryError(`image config verification failed for digest ${digest}`, { kind: 'verify', status: 200 });
      }
      throw err;
    }
    return Buffer.concat(chunks, n);
  }

  /**
   * Cross-repository mount: true when the registry linked the blob (201); false when it opened an upload instead
   * (202) — that session is kept and used by the next pushBlob of this digest.
   */
  async mountBlob(digest: string, fromRepository: string, opts: { signal?: AbortSignal } = {}): Promise<boolean> {
    checkDigest(digest);
    if (!REPOSITORY_RE.test(fromRepository)) throw new RegistryError(`invalid repository name ${JSON.stringify(fromRepository)}`, { kind: 'protocol' });
    const url = await this.repoUrl('/blobs/uploads/', opts.signal);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepository);
    const res = await this.send('POST', url, { replayable: true, extraScopes: [repositoryScope(fromRepository, ['pull'])], signal: opts.signal });
    if (res.status === 201) { res.discard(); return true; }
    if (res.status === 202) {
      const location = this.location(res, url);
      res.discard();
      this.pendingUploads.set(digest, location);
      return false;
    }
    return this.fail(res);
  }

  private location(res: HttpResponse, requestUrl: URL): URL {
    const loc = res.header('location');
    if (!loc) throw new RegistryError(`${res.status} response to ${requestUrl} has no Location header`, { kind: 'protocol', status: res.status });
    return new URL(loc, requestUrl);
  }

  /** POST a new upload session; its Location. */
  private async startUpload(signal?: AbortSignal): Promise<URL> {
    const url = await this.repoUrl('/blobs/uploads/', signal);
    const res = await this.send('POST', url, { replayable: true, signal });
    if (res.status !== 202) return this.fail(res);
    const loc = this.location(res, url);
    res.discard();
    return loc;
  }

  /** GET the status of an upload session: how many bytes it holds (Range: 0-<last>), and its new Location. */
  private async uploadStatus(location: URL, signal?: AbortSignal): Promise<{ offset: number; location: URL } | undefined> {
    const res = await this.send('GET', location, { replayable: true, signal });
    if (res.status !== 204 && res.status !== 200) { res.discard(); return undefined; }
    const m = /^(?:bytes=)?0-(\d+)$/.exec(res.header('range') ?? '');
    const loc = res.header('location') ? new URL(res.header('location')!, location) : location;
    res.discard();
    // "0-0" is what distribution says for both 0 and 1 byte: not worth the ambiguity, start over
    if (!m || Number(m[1]) === 0) return undefined;
    return { offset: Number(m[1]) + 1, location: loc };
  }

  /** Cancels an upload session (best effort). */
  private async cancelUpload(location: URL): Promise<void> {
    try {
      const res = await this.send('DELETE', location, { replayable: true });
      res.discard();
    } catch { /* best effort */ }
  }

  /**
   * Uploads a blob of `size` bytes: POST a session (or reuse the one a refused mount opened), then one PUT
   * ?digest= with the body streamed, or PATCHes of `chunkSize` and a closing PUT. When a transfer fails it asks
   * the session how far it got (GET Location → Range) and continues from there with `open(offset)`; when the
   * registry cannot say or refuses the rest, it starts over with a new session and `open(0)`.
   */
  async pushBlob(digest: string, size: number, open: (offset: number) => BlobSource | Promise<BlobSource>, opts: PushBlobOptions = {}): Promise<void> {
    checkDigest(digest);
    if (!Number.isSafeInteger(size) || size < 0) throw new RegistryError(`invalid blob size ${size}`, { kind: 'protocol' });
    const pending = this.pendingUploads.get(digest);
    this.pendingUploads.delete(digest);
    let location: URL = pending ?? await this.startUpload(opts.signal);
    let offset = 0;
    let reported = 0;
    let attempt = 0;
    const report = (n: number) => { reported += n; opts.onBytes?.(n); };
    for (;;) {
      const startOffset = offset;
      let sent = offset;
      try {
        if (opts.chunkSize !== undefined || offset > 0) {
          // PATCH with Content-Range: chunks, or the rest after a resume
          const chunk = opts.chunkSize !== undefined && opts.chunkSize > 0 ? opts.chunkSize : size;
          if (offset < size) {
            const reader = new ByteReader(bytesOf(await open(offset)));
            try {
              while (offset < size) {
                const n = Math.min(chunk, size - offset);
                const res = await this.send('PATCH', location, {
                  headers: { 'content-type': 'application/octet-stream', 'content-length': String(n), 'content-range': `${offset}-${offset + n - 1}` },
                  body: reader.take(n), replayable: false, signal: opts.signal, onBodyBytes: (b) => { sent += b; report(b); },
                });
                if (res.status !== 202 && res.status !== 204) {
                  if (res.status === 416) { res.discard(); throw new RegistryError('upload range refused', { kind: 'response', status: 416, errors: [{ code: 'RANGE_INVALID', message: 'invalid content range' }] }); }
                  await this.fail(res);
                }
                location = this.location(res, location);
                res.discard();
                offset += n;
              }
            } finally {
              await reader.close();
            }
          }
          await this.completeUpload(location, digest, undefined, 0, opts);
        } else {
          const body = size > 0 ? exactly(bytesOf(await open(0)), size) : undefined;
          await this.completeUpload(location, digest, body, size, { ...opts, onBytes: (b) => { sent += b; report(b); } });
        }
        return;
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason ?? abortError();
        if (isAbort(err)) throw err;
        if (err instanceof BodySourceError) throw err.source instanceof Error ? err.source : new Error(String(err.source));
        const re: RegistryError = err instanceof RegistryError ? err : transportError(err, 'PUT', location);
        const restart: boolean = re.kind === 'response' && ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID', 'RANGE_INVALID'].includes(re.code ?? '');
        if (!re.retryable && !restart) throw re;
        if (sent > startOffset) attempt = 0;
        if (++attempt > this.maxRetries) throw re;
        await sleep(this.backoff(attempt), opts.signal);
        const status: { offset: number; location: URL } | undefined = restart ? undefined : await this.uploadStatus(location, opts.signal).catch(() => undefined);
        if (status && status.offset <= size) {
          location = status.location;
          offset = status.offset;
        } else {
          void this.cancelUpload(location);
          location = await this.startUpload(opts.signal);
          offset = 0;
        }
        if (reported !== offset) report(offset - reported);
      }
    }
  }

  /** PUT <location>?digest=… (with the body, or empty); checks 201 and the digest the registry echoes. */
  private async completeUpload(location: URL, digest: string, body: AsyncIterable<Uint8Array> | undefined, length: number, opts: PushBlobOptions): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.send('PUT', url, {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      body, replayable: body === undefined, signal: opts.signal, onBodyBytes: opts.onBytes,
    });
    if (res.status !== 201 && res.status !== 204 && res.status !== 200) return this.fail(res);
    const echoed = res.header('docker-content-digest');
    res.discard();
    if (echoed && echoed !== digest) {
      throw new RegistryError(`registry stored the blob as ${echoed}, expected ${digest}`, { kind: 'verify', status: res.status });
    }
  }
}

function sizeMismatch(digest: string, expected: number, got: number): RegistryError {
  return new RegistryError(`blob ${digest} has ${got} bytes, expected ${expected}`, { kind: 'verify' });
}

function requestText(method: string, url: URL, cause: string): string {
  return `${method.charAt(0)}${method.slice(1).toLowerCase()} "${url}": ${cause}`;
}
