// A typed Docker Engine API client over the daemon's unix socket (or tcp://), the way the docker CLI
// talks to dockerd: versioned paths (/v1.43/…) without a ping, JSON bodies, {"message": …} errors turned
// into "Error response from daemon: …", streamed bodies (JSON progress, logs, events), and hijacked
// connections for attach/exec. node:http is loaded on first use so `--help` and argument errors stay cheap.
// Under Bun (the CLI's single executable) requests without a streamed body go through fetch() instead: Bun's
// node:http client costs ~8 ms of CPU on a CLI's first request, its native fetch ~1 ms (measured here).
import type * as http from 'http';
import type * as net from 'net';
import type { Readable } from 'stream';
import type {
  ContainerChange,
  ContainerInspect, ContainerPathStat, ContainerSummary, CreateResponse, DiskUsage, ExecInspect, ImageDeleteItem, ImageHistoryItem, ImagesPruneReport,
  ImageSummary, JSONMessage, NetworkCreateResponse, NetworkSummary, NetworksPruneReport, Query,
  TopResponse, UpdateResponse, VersionResponse, VolumeListResponse, VolumeSummary, VolumesPruneReport, WaitResponse,
} from './types';

export * from './types';
export { StdcopyDemuxer, StdType } from './stdcopy';
export { JsonStreamParser, readJsonStream } from './jsonstream';
import { upgrade } from './upgrade';

/** The API version berth speaks; every daemon from 1.24 up accepts it, so no /_ping round trip is needed. */
export const API_VERSION = '1.43';
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';
export const CLIENT_VERSION = '0.1.0';

/** A non-2xx answer. `message` is what docker prints: "Error response from daemon: <daemon message>". */
export class ApiError extends Error {
  constructor(readonly status: number, readonly daemonMessage: string, prefix = true) {
    super(prefix ? `Error response from daemon: ${daemonMessage}` : daemonMessage);
    this.name = 'ApiError';
  }
  get notFound(): boolean { return this.status === 404; }
}

/** The daemon could not be reached at all. */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** -H/--host, then BERTH_HOST, then DOCKER_HOST, then the default socket (rootless berth's for an ordinary user). */
export function resolveHost(flagHost?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flagHost || env.BERTH_HOST || env.DOCKER_HOST || defaultHost(env);
}

/**
 * An ordinary user whose rootless daemon runs talks to it: $XDG_RUNTIME_DIR/berth/berth.sock (or
 * /run/user/<uid>/…), where `berth daemon` run by that user listens; else the system daemon's socket.
 */
export function defaultHost(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0,
  exists: (p: string) => boolean = (p) => (require('fs') as typeof import('fs')).existsSync(p)): string {
  if (uid === 0) return DEFAULT_HOST;
  const sock = `${env.XDG_RUNTIME_DIR || `/run/user/${uid}`}/berth/berth.sock`;
  return exists(sock) ? `unix://${sock}` : DEFAULT_HOST;
}

interface Endpoint { socketPath?: string; hostname?: string; port?: number }

/** The Host of a request to the endpoint: docker's name for the unix socket, else host:port ([v6]:port). */
const authority = (ep: Endpoint): string =>
  ep.socketPath ? 'api.moby.localhost' : `${ep.hostname!.includes(':') ? `[${ep.hostname}]` : ep.hostname}:${ep.port}`;

export function parseHost(host: string): Endpoint {
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  if (host.startsWith('/')) return { socketPath: host };
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (m) return { hostname: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? parseInt(m[2], 10) : 2375 };
  throw new ConnectionError(`unable to parse docker host \`${host}\``);
}

export interface RequestOptions {
  query?: Query;
  /** A JSON-able value (sent as application/json), a Buffer/string, or a stream (sent chunked). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Send body as-is with this content type. */
  contentType?: string;
}

export interface Hijacked {
  socket: net.Socket;
  /** Bytes that arrived with the 101 response, before the stream proper. */
  head: Buffer;
  mediaType: string;
}

export function encodeQuery(q?: Query): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const key of Object.keys(q).sort()) {
    const v = q[key];
    if (v === undefined) continue;
    const vals = Array.isArray(v) ? v : [typeof v === 'boolean' ? (v ? '1' : '0') : String(v)];
    for (const x of vals) parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(x).replace(/%20/g, '+'));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

const isStream = (b: unknown): b is Readable => !!b && typeof (b as Readable).pipe === 'function';

export class Client {
  readonly host: string;
  /** The API version in request paths; negotiateVersion() may lower it to what an older daemon speaks. */
  version: string;
  private endpoint: Endpoint;
  private agent?: http.Agent;
  private httpMod?: typeof http;
  private checkedSocket = false;
  /** fetch() carries the requests without a streamed body (Bun only: see the top of this file). */
  private readonly useFetch = !!process.versions.bun && typeof fetch === 'function';

  constructor(host?: string, version?: string) {
    this.host = host ?? resolveHost();
    this.version = version ?? (process.env.BERTH_API_VERSION || process.env.DOCKER_API_VERSION || API_VERSION);
    this.endpoint = parseHost(this.host);
  }

  /** Fails fast (and without loading node:http) when the socket does not exist. */
  private checkSocket(): void {
    if (this.endpoint.socketPath && !this.checkedSocket) {
      this.checkedSocket = true;
      const fs: typeof import('fs') = require('fs');
      if (!fs.existsSync(this.endpoint.socketPath)) throw this.cannotConnect();
    }
  }

  private http(): typeof http {
    if (!this.httpMod) {
      this.checkSocket();
      this.httpMod = require('http') as typeof http;
      this.agent = new this.httpMod.Agent({ keepAlive: true });
    }
    return this.httpMod;
  }

  private cannotConnect(): ConnectionError {
    return new ConnectionError(`Cannot connect to the berth daemon at ${this.host}. Is the berth daemon running?`);
  }

  private connError(err: NodeJS.ErrnoException, method: string, path: string): Error {
    if (err instanceof ApiError || err instanceof ConnectionError) return err;
    const code = err.code;
    // ConnectionRefused / FailedToOpenSocket / AccessDenied: Bun's fetch() names for the same failures
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ConnectionRefused' || code === 'FailedToOpenSocket') return this.cannotConnect();
    const base = this.endpoint.socketPath ? 'http://' + encodeURIComponent(this.endpoint.socketPath) : `http://${this.endpoint.hostname}:${this.endpoint.port}`;
    if (code === 'EACCES' || code === 'AccessDenied') {
      return new ConnectionError(`permission denied while trying to connect to the berth daemon socket at ${this.host}: ${method} "${base}${path}": dial unix ${this.endpoint.socketPath}: connect: permission denied`);
    }
    return new ConnectionError(`error during connect: ${method} "${base}${path}": ${err.message}`);
  }

  /** Full request path with the API version prefix. */
  path(p: string, query?: Query): string {
    return `/v${this.version}${p}${encodeQuery(query)}`;
  }

  private target(method: string, path: string, headers: Record<string, string>, agent: http.Agent | false): http.RequestOptions {
    const ep = this.endpoint;
    const opts: http.RequestOptions & { servername?: string } = {
      method, path, agent,
      // An explicit empty servername stops node's Agent from running net.isIP() on the host, whose first
      // use compiles a large IPv6 regex (several ms of CPU on every CLI run).
      servername: '',
      headers: { 'User-Agent': `berth-cli/${CLIENT_VERSION} (${process.platform})`, ...headers },
    };
    if (ep.socketPath) opts.socketPath = ep.socketPath;
    else { opts.hostname = ep.hostname; opts.port = ep.port; }
    return opts;
  }

  /**
   * Sends a request and resolves with the response once its headers arrive (so streams can be consumed).
   * Non-2xx answers are read and thrown as ApiError.
   */
  request(method: string, p: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    return this.send(method, p, opts, this.agent);
  }

  private send(method: string, p: string, opts: RequestOptions, agent?: http.Agent | false, unversioned = false): Promise<http.IncomingMessage> {
    if (this.useFetch && !isStream(opts.body) && !unversioned) return this.fetchRequest(method, p, opts).then(asIncomingMessage);
    let httpMod: typeof http;
    try {
      httpMod = this.http();
    } catch (err) {
      return Promise.reject(err);
    }
    const path = unversioned ? p + encodeQuery(opts.query) : this.path(p, opts.query);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let payload: Buffer | string | Readable | undefined;
    const b = opts.body;
    if (isStream(b)) {
      payload = b;
      headers['Content-Type'] = opts.contentType ?? 'text/plain';
    } else if (Buffer.isBuffer(b) || typeof b === 'string') {
      payload = b;
      headers['Content-Type'] = opts.contentType ?? 'text/plain';
    } else if (b !== undefined) {
      payload = JSON.stringify(b);
      headers['Content-Type'] = 'application/json';
    }
    if (payload !== undefined && !isStream(payload)) headers['Content-Length'] = String(Buffer.byteLength(payload));
    return new Promise((resolve, reject) => {
      const req = httpMod.request(this.target(method, path, headers, agent ?? this.agent!), (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 400) { resolve(res); return; }
        readAll(res).then((buf) => reject(responseError(status, res, buf, method, path)), reject);
      });
      req.on('error', (err) => reject(this.connError(err, method, path)));
      if (isStream(payload)) {
        sendBody(payload, req);
      } else {
        req.end(payload);
      }
    });
  }

  /**
   * One request through fetch() (Bun): the response once its headers arrived; non-2xx answers are read and
   * thrown as ApiError, as send() does. No timeout: waits and log streams last as long as the container.
   */
  private async fetchRequest(method: string, p: string, opts: RequestOptions): Promise<Response> {
    this.checkSocket();
    const path = this.path(p, opts.query);
    const ep = this.endpoint;
    const headers: Record<string, string> = { 'User-Agent': `berth-cli/${CLIENT_VERSION} (${process.platform})`, ...(opts.headers ?? {}) };
    let body: string | Buffer | undefined;
    const b = opts.body;
    if (Buffer.isBuffer(b) || typeof b === 'string') { body = b; headers['Content-Type'] = opts.contentType ?? 'text/plain'; }
    else if (b !== undefined) { body = JSON.stringify(b); headers['Content-Type'] = 'application/json'; }
    const url = `http://${authority(ep)}${path}`;
    let res: Response;
    try {
      // unix, timeout and decompress are Bun's own fetch() options
      res = await fetch(url, { method, headers, body, redirect: 'manual', unix: ep.socketPath, timeout: false, decompress: false } as RequestInit);
    } catch (err) {
      throw this.connError(err as NodeJS.ErrnoException, method, path);
    }
    if (res.status >= 200 && res.status < 400) return res;
    const buf = Buffer.from(await res.arrayBuffer());
    throw responseError(res.status, { statusMessage: res.statusText, headers: { 'content-type': res.headers.get('content-type') ?? undefined } }, buf, method, path);
  }

  /** Request + the whole body. */
  private async body(method: string, p: string, opts: RequestOptions): Promise<Buffer> {
    if (this.useFetch && !isStream(opts.body)) return Buffer.from(await (await this.fetchRequest(method, p, opts)).arrayBuffer());
    return readAll(await this.request(method, p, opts));
  }

  /** Request + JSON body. */
  async json<T>(method: string, p: string, opts: RequestOptions = {}): Promise<T> {
    const buf = await this.body(method, p, opts);
    if (buf.length === 0) return undefined as T;
    return JSON.parse(buf.toString('utf8')) as T;
  }

  /** Request + raw body text (inspect keeps the daemon's bytes). */
  async text(method: string, p: string, opts: RequestOptions = {}): Promise<string> {
    return (await this.body(method, p, opts)).toString('utf8');
  }

  /** Request whose body is ignored. */
  async call(method: string, p: string, opts: RequestOptions = {}): Promise<number> {
    if (this.useFetch && !isStream(opts.body)) {
      const res = await this.fetchRequest(method, p, opts);
      await res.arrayBuffer();
      return res.status;
    }
    const res = await this.request(method, p, opts);
    res.resume();
    await new Promise<void>((r) => { res.on('end', r); res.on('close', r); });
    return res.statusCode ?? 0;
  }

  /**
   * POST with `Connection: Upgrade` / `Upgrade: tcp`; resolves with the raw socket after `101`.
   * A JSON error body becomes an ApiError; any other non-101 answer gives docker's "unable to upgrade".
   */
  hijack(p: string, opts: RequestOptions = {}): Promise<Hijacked> {
    try {
      this.checkSocket();
    } catch (err) {
      return Promise.reject(err);
    }
    const net: typeof import('net') = require('net');
    const path = this.path(p, opts.query);
    const ep = this.endpoint;
    const payload = opts.body === undefined ? '' : JSON.stringify(opts.body);
    const request = `POST ${path} HTTP/1.1\r\nHost: ${authority(ep)}\r\n` +
      `User-Agent: berth-cli/${CLIENT_VERSION} (${process.platform})\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
      `Content-Type: ${opts.body === undefined ? 'text/plain' : 'application/json'}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
    const socket = ep.socketPath ? net.connect(ep.socketPath) : net.connect(ep.port!, ep.hostname!);
    return upgrade(socket, request).then((r) => {
      if ('upgraded' in r) {
        socket.setNoDelay?.(true);
        return r.upgraded;
      }
      const { refused, body } = r;
      if (refused.status >= 400) throw responseError(refused.status, refused, body, 'POST', path);
      throw new Error(`unable to upgrade to tcp, received ${refused.status}`);
    }, (err: NodeJS.ErrnoException) => { throw this.connError(err, 'POST', path); });
  }

  /**
   * docker's NegotiateAPIVersion: GET /_ping without a version prefix and use the daemon's Api-Version when it
   * is older than ours (a dockerd 20.10 speaks 1.41 and refuses /v1.43/ paths). Long-lived clients (the
   * dashboard) call this on each (re)connection; the CLI does not, to save the round trip.
   */
  async negotiateVersion(): Promise<string> {
    const res = await this.send('GET', '/_ping', {}, undefined, true);
    res.resume();
    const v = String(res.headers['api-version'] ?? '');
    if (/^\d+\.\d+$/.test(v) && versionLess(v, API_VERSION)) this.version = v;
    else this.version = API_VERSION;
    return this.version;
  }

  /** Drops idle keep-alive connections so the process can exit. */
  close(): void {
    this.agent?.destroy();
  }

  // ----------------------------------------------------------------------------------------------
  // typed calls (the ones the CLI uses); ids and names are passed through for the daemon to resolve

  serverVersion(): Promise<VersionResponse> { return this.json('GET', '/version'); }
  info(): Promise<Record<string, unknown>> { return this.json('GET', '/info'); }

  containerList(q: Query): Promise<ContainerSummary[]> { return this.json('GET', '/containers/json', { query: q }); }
  containerCreate(body: object, name?: string, platform?: string): Promise<CreateResponse> {
    return this.json('POST', '/containers/create', { query: { name: name || undefined, platform: platform || undefined }, body });
  }
  containerInspect(id: string, size = false): Promise<ContainerInspect> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: size ? '1' : undefined } });
  }
  containerInspectRaw(id: string, size = false): Promise<string> {
    return this.text('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: size ? '1' : undefined } });
  }
  containerStart(id: string, q?: Query): Promise<number> { return this.call('POST', `/containers/${encodeURIComponent(id)}/start`, { query: q }); }
  containerStop(id: string, q: Query): Promise<number> { return this.call('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: q }); }
  containerRestart(id: string, q: Query): Promise<number> { return this.call('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: q }); }
  containerKill(id: string, signal?: string): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal: signal || undefined } });
  }
  containerRemove(id: string, q: Query): Promise<number> { return this.call('DELETE', `/containers/${encodeURIComponent(id)}`, { query: q }); }
  containerPause(id: string): Promise<number> { return this.call('POST', `/containers/${encodeURIComponent(id)}/pause`); }
  containerUnpause(id: string): Promise<number> { return this.call('POST', `/containers/${encodeURIComponent(id)}/unpause`); }
  containerRename(id: string, name: string): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }
  containerTop(id: string, psArgs?: string): Promise<TopResponse> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/top`, { query: { ps_args: psArgs || undefined } });
  }
  /** GET /containers/{id}/changes: null when nothing changed. */
  containerChanges(id: string): Promise<ContainerChange[] | null> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/changes`);
  }
  /** POST /commit; `config` (a container Config) is sent as the body when given. */
  containerCommit(q: Query, config?: object): Promise<{ Id: string }> {
    return this.json('POST', '/commit', { query: q, body: config });
  }
  containerResize(id: string, h: number, w: number): Promise<number> {
    return this.call('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h, w } });
  }
  containerLogs(id: string, q: Query): Promise<http.IncomingMessage> {
    return this.request('GET', `/containers/${encodeURIComponent(id)}/logs`, { query: q });
  }
  /** POST /containers/{id}/update (resources and restart policy). */
  containerUpdate(id: string, body: object): Promise<UpdateResponse> {
    return this.json('POST', `/containers/${encodeURIComponent(id)}/update`, { body });
  }
  /** GET /containers/{id}/stats: a stream of JSON objects (one a second), or one with stream=false. Own connection. */
  containerStats(id: string, stream: boolean): Promise<http.IncomingMessage> {
    return this.send('GET', `/containers/${encodeURIComponent(id)}/stats`, { query: { stream: stream ? '1' : '0' } }, false);
  }
  containerAttach(id: string, q: Query): Promise<Hijacked> {
    return this.hijack(`/containers/${encodeURIComponent(id)}/attach`, { query: q });
  }

  /**
   * POST /containers/{id}/wait. `registered` resolves once the daemon answered with headers (the wait is in
   * place, so start may follow); `result` resolves with the exit status when the container stops.
   * Uses its own connection: it stays open for the container's lifetime.
   */
  containerWait(id: string, condition?: string): { registered: Promise<void>; result: Promise<WaitResponse> } {
    const res = this.send('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition: condition || undefined } }, false);
    const registered = res.then(() => undefined);
    const result = res.then(async (r) => {
      const text = (await readAll(r)).toString('utf8');
      try {
        return JSON.parse(text) as WaitResponse;
      } catch {
        throw new Error(text.slice(0, 2048));
      }
    });
    registered.catch(() => undefined);
    return { registered, result };
  }

  /** HEAD /containers/{id}/archive: the path's stat from the X-Docker-Container-Path-Stat header. */
  async containerStatPath(id: string, path: string): Promise<ContainerPathStat> {
    const res = await this.request('HEAD', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    res.resume();
    return pathStatHeader(res);
  }
  /** GET /containers/{id}/archive: the path's stat and its tar (the response, to be read). */
  async copyFromContainer(id: string, path: string): Promise<{ stat: ContainerPathStat; content: http.IncomingMessage }> {
    const res = await this.request('GET', `/containers/${encodeURIComponent(id)}/archive`, { query: { path } });
    try {
      return { stat: pathStatHeader(res), content: res };
    } catch (err) {
      res.destroy();
      throw err;
    }
  }
  /** PUT /containers/{id}/archive: extracts the tar `content` into the directory `path` in the container. */
  copyToContainer(id: string, path: string, content: Readable, opts: { copyUIDGID?: boolean; allowOverwriteDirWithFile?: boolean } = {}): Promise<number> {
    return this.call('PUT', `/containers/${encodeURIComponent(id)}/archive`, {
      query: { path, noOverwriteDirNonDir: opts.allowOverwriteDirWithFile ? undefined : 'true', copyUIDGID: opts.copyUIDGID ? 'true' : undefined },
      body: content, contentType: 'application/x-tar',
    });
  }
  /** GET /containers/{id}/export: the container's file system as a tar. */
  containerExport(id: string): Promise<http.IncomingMessage> {
    return this.request('GET', `/containers/${encodeURIComponent(id)}/export`);
  }

  execCreate(id: string, body: object): Promise<{ Id: string }> {
    return this.json('POST', `/containers/${encodeURIComponent(id)}/exec`, { body });
  }
  execStart(execId: string, body: object): Promise<number> { return this.call('POST', `/exec/${encodeURIComponent(execId)}/start`, { body }); }
  execStartHijack(execId: string, body: object): Promise<Hijacked> {
    return this.hijack(`/exec/${encodeURIComponent(execId)}/start`, { body });
  }
  execResize(execId: string, h: number, w: number): Promise<number> {
    return this.call('POST', `/exec/${encodeURIComponent(execId)}/resize`, { query: { h, w } });
  }
  execInspect(execId: string): Promise<ExecInspect> { return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`); }

  imageList(q: Query): Promise<ImageSummary[]> { return this.json('GET', '/images/json', { query: q }); }
  imageInspectRaw(ref: string): Promise<string> { return this.text('GET', `/images/${encodeImageRef(ref)}/json`); }
  imageRemove(ref: string, q: Query): Promise<ImageDeleteItem[]> { return this.json('DELETE', `/images/${encodeImageRef(ref)}`, { query: q }); }
  imageTag(source: string, repo: string, tag: string): Promise<number> {
    return this.call('POST', `/images/${encodeImageRef(source)}/tag`, { query: { repo, tag: tag || undefined } });
  }
  /** POST /images/create (pull or import); the body is the JSON-lines progress stream. */
  imageCreate(q: Query, body?: Readable, headers?: Record<string, string>): Promise<http.IncomingMessage> {
    return this.request('POST', '/images/create', { query: q, body, headers });
  }
  /** GET /images/get?names=…: the tar stream of `docker save`. */
  imageSave(names: string[]): Promise<http.IncomingMessage> { return this.request('GET', '/images/get', { query: { names } }); }
  /** POST /images/load: the body is the archive; the answer a JSON message stream. */
  imageLoad(body: Readable, quiet: boolean): Promise<http.IncomingMessage> {
    return this.request('POST', '/images/load', { query: { quiet: quiet ? '1' : '0' }, body, contentType: 'application/x-tar' });
  }
  imageHistory(ref: string): Promise<ImageHistoryItem[]> { return this.json('GET', `/images/${encodeImageRef(ref)}/history`); }
  imagesPrune(filters?: string): Promise<ImagesPruneReport> { return this.json('POST', '/images/prune', { query: { filters } }); }
  diskUsage(types?: string[]): Promise<DiskUsage> { return this.json('GET', '/system/df', { query: { type: types?.length ? types : undefined } }); }
  networkInspectRaw(ref: string, verbose = false): Promise<string> {
    return this.text('GET', `/networks/${encodeURIComponent(ref)}`, { query: { verbose: verbose ? 'true' : undefined } });
  }
  networkInspect(ref: string): Promise<NetworkSummary> { return this.json('GET', `/networks/${encodeURIComponent(ref)}`); }
  networkList(filters?: string): Promise<NetworkSummary[]> { return this.json('GET', '/networks', { query: { filters } }); }
  networkCreate(body: object): Promise<NetworkCreateResponse> { return this.json('POST', '/networks/create', { body }); }
  networkRemove(ref: string): Promise<number> { return this.call('DELETE', `/networks/${encodeURIComponent(ref)}`); }
  networkConnect(ref: string, body: object): Promise<number> { return this.call('POST', `/networks/${encodeURIComponent(ref)}/connect`, { body }); }
  networkDisconnect(ref: string, body: object): Promise<number> { return this.call('POST', `/networks/${encodeURIComponent(ref)}/disconnect`, { body }); }
  networksPrune(filters?: string): Promise<NetworksPruneReport> { return this.json('POST', '/networks/prune', { query: { filters } }); }
  volumeInspectRaw(ref: string): Promise<string> { return this.text('GET', `/volumes/${encodeURIComponent(ref)}`); }
  volumeCreate(body: object): Promise<VolumeSummary> { return this.json('POST', '/volumes/create', { body }); }
  volumeList(filters?: string): Promise<VolumeListResponse> { return this.json('GET', '/volumes', { query: { filters } }); }
  volumeRemove(ref: string, force: boolean): Promise<number> {
    return this.call('DELETE', `/volumes/${encodeURIComponent(ref)}`, { query: { force: force ? '1' : undefined } });
  }
  volumesPrune(filters?: string): Promise<VolumesPruneReport> { return this.json('POST', '/volumes/prune', { query: { filters } }); }
  events(q: Query): Promise<http.IncomingMessage> { return this.request('GET', '/events', { query: q }); }
}

/** API versions compare numerically per component ("1.9" < "1.10"). */
export function versionLess(a: string, b: string): boolean {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

/** Image references keep their slashes in the path (docker does the same). */
const encodeImageRef = (ref: string) => ref.split('/').map(encodeURIComponent).join('/').replace(/%3A/gi, ':').replace(/%40/g, '@');

/**
 * Streams a request body chunk by chunk, waiting for 'drain' when the socket is full, and ends the request after
 * the last chunk. Not src.pipe(req): under Bun, piping process.stdin from a pipe lost the end of the input in
 * about a third of the runs (35 of 100 here, a 2 MiB tar), and `… | berth import -` or `berth load` then waited
 * forever; reading it with for-await never did (0 of 100).
 */
export function sendBody(src: Readable, req: http.ClientRequest): void {
  const drainedOrClosed = () => new Promise<void>((resolve) => {
    const done = () => { req.off('drain', done); req.off('close', done); resolve(); };
    req.once('drain', done);
    req.once('close', done);
  });
  (async () => {
    for await (const chunk of src) {
      if (req.destroyed) return; // the daemon answered (an error) and closed: the rest is not wanted
      if (!req.write(chunk)) await drainedOrClosed();
    }
    req.end();
  })().catch((err: Error) => req.destroy(err));
}

export function readAll(res: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

/** docker's checkResponseErr. */
/** The stat header of an archive response, as docker's client decodes it. */
function pathStatHeader(res: http.IncomingMessage): ContainerPathStat {
  const raw = res.headers['x-docker-container-path-stat'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return { name: '', size: 0, mode: 0, mtime: '', linkTarget: '' };
  try {
    return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as ContainerPathStat;
  } catch (err) {
    throw new Error(`unable to decode container path stat header: ${(err as Error).message}`);
  }
}

/** What responseError reads of an answer (an IncomingMessage, a fetch Response's parts, a parsed head). */
interface AnswerHead { statusMessage?: string; headers: Record<string, string | string[] | undefined> }

/** A fetch() Response as the IncomingMessage-like stream the streaming callers read (data events, pipe, headers). */
function asIncomingMessage(res: Response): http.IncomingMessage {
  const { Readable } = require('stream') as typeof import('stream');
  const stream = res.body ? Readable.fromWeb(res.body as import('stream/web').ReadableStream) : Readable.from([]);
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => { headers[k] = v; });
  return Object.assign(stream, { statusCode: res.status, statusMessage: res.statusText, headers }) as unknown as http.IncomingMessage;
}

function responseError(status: number, res: AnswerHead, body: Buffer, method: string, path: string): Error {
  const statusMsg = `${status} ${res.statusMessage ?? ''}`.trim();
  if (body.length === 0) {
    return new ApiError(status, `request returned ${statusMsg} for API route and version ${path}, check if the server supports the requested API version`, false);
  }
  const text = body.toString('utf8');
  const ct = String(res.headers['content-type'] ?? '');
  if (ct.startsWith('application/json')) {
    let msg: unknown;
    try {
      msg = (JSON.parse(text) as { message?: unknown }).message;
    } catch (err) {
      return new ApiError(status, `Error reading JSON: ${(err as Error).message}`, false);
    }
    if (typeof msg !== 'string' || msg === '') {
      return new ApiError(status, `API returned a ${status} (${res.statusMessage ?? ''}) but provided no error-message`);
    }
    return new ApiError(status, msg.trim());
  }
  void method;
  return new ApiError(status, text.trim());
}
