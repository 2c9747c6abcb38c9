// One HTTP exchange, nothing more: method + URL + headers + optional (streamed) body in, status + headers +
// streamed body out. No redirects, no auth, no retries (the client adds those). The default is Node's http/https
// with keep-alive agents (bodies arrive as the socket's own chunks, no copies); `fetchTransport` adapts a
// fetch implementation instead (tests, or callers who want undici).
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as tls from 'tls';
import { readFileSync } from 'fs';
import { Readable } from 'stream';

export type RequestBody = Uint8Array | AsyncIterable<Uint8Array>;

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A buffer (sent with Content-Length) or a stream (set content-length yourself, else chunked). */
  body?: RequestBody;
  /** Do not verify the server certificate (insecure registries). */
  insecureTls?: boolean;
  signal?: AbortSignal;
  /** Destroy the connection when nothing moves for this long (ms). Default 60 s. */
  idleTimeoutMs?: number;
  /** Called after each body chunk is handed to the socket. */
  onBodyBytes?: (n: number) => void;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  url: URL;
  header(name: string): string | undefined;
  /** Every value of a repeated header, separately (WWW-Authenticate). */
  headerValues(name: string): string[];
  body: AsyncIterable<Uint8Array>;
  /** The whole body; throws when it is longer than `limit` bytes. */
  bytes(limit?: number): Promise<Buffer>;
  /** Drops the body (drained for reuse when short, else the connection is closed). */
  discard(): void;
}

export type Transport = (req: HttpRequest) => Promise<HttpResponse>;

/** Thrown (as the request's error) when the request body's source failed: not a network problem. */
export class BodySourceError extends Error {
  override name = 'BodySourceError';
  constructor(readonly source: unknown) {
    super(source instanceof Error ? source.message : String(source));
  }
}

const DEFAULT_IDLE_MS = 60_000;
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * Rootless seam: the daemon's loopback is its own network namespace's, so a registry on the host's 127.0.0.1 is
 * reached through a connector the rootless parent provides (src/rootless/control.ts). Set once at daemon start.
 */
export type LoopbackConnector = (host: string, port: number) => Promise<net.Socket>;
let loopbackConnector: LoopbackConnector | undefined;
export function setLoopbackConnector(connector: LoopbackConnector | undefined): void {
  loopbackConnector = connector;
  closeIdleConnections(); // agents are made again with it
}
const isLoopbackHost = (h: string) => h === 'localhost' || /^127\./.test(h) || h === '::1' || h === '[::1]';

type CreateConnection = (opts: Record<string, unknown>, cb: (err: Error | null, s?: net.Socket) => void) => net.Socket | undefined;
function routeLoopback(agent: http.Agent, secure: boolean): void {
  const connector = loopbackConnector;
  if (!connector) return;
  const a = agent as unknown as { createConnection: CreateConnection };
  const original = a.createConnection.bind(agent);
  a.createConnection = (opts, cb) => {
    const host = String(opts.host ?? opts.hostname ?? '');
    if (!isLoopbackHost(host)) return original(opts, cb);
    // the connector hands over a paused socket (its handshake is read): it flows once http has its listeners on it
    connector(host, Number(opts.port)).then((raw) => {
      if (secure) {
        cb(null, tls.connect({ ...(opts as tls.ConnectionOptions), socket: raw }));
        raw.resume();
      } else {
        cb(null, raw);
        setImmediate(() => raw.resume());
      }
    }, (err: Error) => cb(err));
    return undefined;
  };
}

type AgentKind = 'http' | 'https' | 'httpsInsecure';
const AGENT_OPTIONS = { keepAlive: true, keepAliveMsecs: 15_000, maxFreeSockets: 16, timeout: 30_000, scheduling: 'lifo' as const };
let agents: Partial<Record<AgentKind, http.Agent>> = {};

/**
 * The system CA bundle as one TLS context, made once. Handed to the agent as `ca`, the bundle was parsed again for
 * every new connection (tls.connect makes a context from its options): ~19 ms of blocked event loop and ~1 MiB of
 * native memory until the next GC, per connection, measured here with Debian's ~140 certificates.
 */
let systemContext: { file: string; context?: tls.SecureContext } | undefined;
function systemSecureContext(): tls.SecureContext | undefined {
  // SSL_CERT_FILE names another bundle, as for dockerd (Go's crypto/x509 reads it)
  const file = process.env.SSL_CERT_FILE || SYSTEM_CA_BUNDLE;
  if (systemContext?.file !== file) {
    let ca: string | undefined;
    try { ca = readFileSync(file, 'utf8'); } catch { ca = undefined; } // none: Node's own roots
    systemContext = { file, context: ca ? tls.createSecureContext({ ca }) : undefined };
  }
  return systemContext.context;
}

/** The keep-alive agent of one kind, made at its first use (an https one only when a registry speaks TLS). */
function agentFor(kind: AgentKind): http.Agent {
  let agent = agents[kind];
  if (!agent) {
    if (kind === 'http') agent = new http.Agent(AGENT_OPTIONS);
    else if (kind === 'httpsInsecure') agent = new https.Agent({ ...AGENT_OPTIONS, rejectUnauthorized: false });
    else {
      const secureContext = systemSecureContext();
      agent = new https.Agent({ ...AGENT_OPTIONS, ...(secureContext ? { secureContext } : {}) });
    }
    routeLoopback(agent, kind !== 'http');
    agents[kind] = agent;
  }
  return agent;
}

/** Closes idle keep-alive connections (tests call this so the process can exit promptly). */
export function closeIdleConnections(): void {
  for (const agent of Object.values(agents)) agent.destroy();
  agents = {};
}

const EMPTY: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() { /* nothing */ } };

async function readAll(body: AsyncIterable<Uint8Array>, limit: number, onTooLong: () => void): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) {
      onTooLong();
      throw new Error(`response body larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? Buffer.from(chunks[0].buffer, chunks[0].byteOffset, chunks[0].length) : Buffer.concat(chunks, total);
}

/** Node http/https with shared keep-alive agents. */
export const nodeTransport: Transport = (req) => new Promise<HttpResponse>((resolve, reject) => {
  const isHttps = req.url.protocol === 'https:';
  const agent = agentFor(isHttps ? (req.insecureTls ? 'httpsInsecure' : 'https') : 'http');
  const headers: Record<string, string> = { ...req.headers };
  const body = req.body;
  if (body instanceof Uint8Array) headers['content-length'] = String(body.length);
  else if (body === undefined && req.method !== 'GET' && req.method !== 'HEAD' && !hasHeader(headers, 'content-length')) headers['content-length'] = '0';
  let creq: http.ClientRequest;
  try {
    creq = (isHttps ? https : http).request(req.url, { method: req.method, headers, agent, signal: req.signal });
  } catch (err) {
    reject(err);
    return;
  }
  let settled = false;
  let responded = false;
  let bodyDone = body === undefined || body instanceof Uint8Array;
  creq.setTimeout(req.idleTimeoutMs ?? DEFAULT_IDLE_MS, () => {
    creq.destroy(Object.assign(new Error('i/o timeout'), { code: 'ETIMEDOUT' }));
  });
  creq.on('error', (err) => {
    if (!settled) { settled = true; reject(err); }
  });
  creq.on('response', (res) => {
    responded = true;
    if (settled) { res.destroy(); return; }
    settled = true;
    // a response that came before the body was fully sent leaves the connection unusable: close it afterwards
    const finish = () => { if (!bodyDone) creq.destroy(); };
    res.on('end', finish);
    res.on('close', finish);
    resolve({
      status: res.statusCode ?? 0,
      statusText: res.statusMessage ?? '',
      url: req.url,
      header: (name) => {
        const v = res.headers[name.toLowerCase()];
        return Array.isArray(v) ? v.join(', ') : v;
      },
      headerValues: (name) => {
        const out: string[] = [];
        const lower = name.toLowerCase();
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i].toLowerCase() === lower) out.push(res.rawHeaders[i + 1]);
        return out;
      },
      body: req.method === 'HEAD' ? EMPTY : res,
      bytes: (limit = 4 << 20) => readAll(res, limit, () => res.destroy()),
      discard: () => {
        const len = Number(res.headers['content-length'] ?? NaN);
        if (req.method === 'HEAD' || (Number.isFinite(len) && len <= 64 * 1024)) res.resume();
        else res.destroy();
      },
    });
  });
  if (body === undefined) { creq.end(); return; }
  if (body instanceof Uint8Array) { creq.end(body); return; }
  (async () => {
    try {
      for await (const chunk of body) {
        if (responded || creq.destroyed) return;
        if (!creq.write(chunk)) {
          await new Promise<void>((ok) => {
            const done = () => { creq.off('drain', done); creq.off('close', done); ok(); };
            creq.on('drain', done);
            creq.on('close', done);
          });
        }
        req.onBodyBytes?.(chunk.length);
      }
    } catch (err) {
      creq.destroy(new BodySourceError(err));
      return;
    }
    if (!creq.destroyed) {
      bodyDone = true;
      creq.end();
    }
  })();
});

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/** A Transport on top of a fetch implementation (global fetch/undici or a test double). */
export function fetchTransport(fetchImpl: typeof fetch): Transport {
  return async (req) => {
    const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers: req.headers, redirect: 'manual', signal: req.signal };
    if (req.body instanceof Uint8Array) init.body = req.body;
    else if (req.body) {
      const source = req.body;
      const onBytes = req.onBodyBytes;
      const counted = onBytes ? (async function* () { for await (const c of source) { yield c; onBytes(c.length); } })() : source;
      init.body = Readable.toWeb(Readable.from(counted, { objectMode: false })) as unknown as ReadableStream<Uint8Array>;
      init.duplex = 'half';
    }
    let res: Response;
    try {
      res = await fetchImpl(req.url, init);
    } catch (err) {
      throw (err as { cause?: unknown }).cause ?? err;
    }
    const stream = res.body;
    const body: AsyncIterable<Uint8Array> = stream ? {
      async *[Symbol.asyncIterator]() {
        try {
          for await (const c of stream as unknown as AsyncIterable<Uint8Array>) yield c;
        } catch (err) {
          throw (err as { cause?: unknown }).cause ?? err;
        }
      },
    } : EMPTY;
    return {
      status: res.status,
      statusText: res.statusText,
      url: req.url,
      header: (name) => res.headers.get(name) ?? undefined,
      headerValues: (name) => {
        const v = res.headers.get(name);
        return v === null ? [] : [v];
      },
      body,
      bytes: (limit = 4 << 20) => readAll(body, limit, () => { void stream?.cancel().catch(() => undefined); }),
      discard: () => { void stream?.cancel().catch(() => undefined); },
    };
  };
}
