// The HTTP(S) front: authentication, routing to the handlers, error rendering, one debug line per
// request, and shutdown that lets in-flight requests finish for a moment before cutting them off.
import * as http from 'http';
import * as https from 'https';
import { promises as fs } from 'fs';
import type { AddressInfo } from 'net';
import { Registry } from './registry';
import { Htpasswd } from './auth';
import { RegistryError, errs } from './errors';
import { route, Route } from './routes';
import { sendError, sendJson } from './http';
import { Ctx } from './handlers/context';
import { getBlob, deleteBlob } from './handlers/blobs';
import { startUpload, patchUpload, putUpload, getUpload, deleteUpload } from './handlers/uploads';
import { getManifest, putManifest, deleteManifest } from './handlers/manifests';
import { listTags, catalog, referrers } from './handlers/lists';
import { log } from '../common/log';

export interface ServeOptions {
  /** host:port, [v6]:port or :port (all interfaces); port 0 picks a free one. */
  addr: string;
  root: string;
  htpasswd?: string;
  realm?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export interface RunningRegistry {
  /** e.g. http://127.0.0.1:5000 (the real port when 0 was asked for). */
  url: string;
  /** Stops accepting, lets in-flight requests finish briefly, then closes every connection. */
  close(reason?: string): Promise<void>;
}

/** Upload sessions idle this long are removed (the client is gone; CNCF distribution uses days). */
const UPLOAD_MAX_IDLE_MS = 24 * 3600_000;
const SHUTDOWN_GRACE_MS = 2000;

export function parseAddr(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  if (!m || Number(m[3]) > 65535) throw new Error(`invalid --addr ${JSON.stringify(addr)}: want host:port`);
  return { host: m[1] ?? (m[2] || undefined), port: Number(m[3]) };
}

export async function serve(opts: ServeOptions): Promise<RunningRegistry> {
  const { host, port } = parseAddr(opts.addr);
  const reg = await Registry.open(opts.root);
  const auth = opts.htpasswd ? new Htpasswd(opts.htpasswd, opts.realm ?? 'berth registry') : undefined;
  await auth?.load();

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => { void respond(reg, auth, req, res); };
  const serverOpts = { keepAliveTimeout: 65_000, headersTimeout: 60_000, requestTimeout: 0 }; // uploads may take long
  let server: http.Server;
  if (opts.tlsCert || opts.tlsKey) {
    if (!opts.tlsCert || !opts.tlsKey) throw new Error('--tls-cert and --tls-key go together');
    const [cert, key] = await Promise.all([fs.readFile(opts.tlsCert), fs.readFile(opts.tlsKey)]);
    server = https.createServer({ ...serverOpts, cert, key }, handler);
  } else {
    server = http.createServer(serverOpts, handler);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const a = server.address() as AddressInfo;
  const scheme = opts.tlsCert ? 'https' : 'http';
  const url = `${scheme}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  log.info(`listening on ${url}`, { root: reg.root, auth: auth ? 'htpasswd' : 'none' });
  if (auth && scheme === 'http') log.warn('basic authentication over plain http sends passwords in the clear; use --tls-cert/--tls-key');

  const purge = setInterval(() => {
    reg.uploads.purge(UPLOAD_MAX_IDLE_MS).then((n) => { if (n) log.info('expired idle upload sessions', { count: n }); }, (err) => log.warn('upload purge failed', { error: String(err) }));
  }, 10 * 60_000);
  purge.unref();

  return {
    url,
    close: (reason?: string) => new Promise<void>((resolve) => {
      log.info('shutting down', reason ? { reason } : undefined);
      clearInterval(purge);
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
    }),
  };
}

async function respond(reg: Registry, auth: Htpasswd | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const t0 = process.hrtime.bigint();
  res.once('close', () => {
    log.debug('request', {
      method: req.method, path: req.url, status: res.statusCode, ms: Number((process.hrtime.bigint() - t0) / 1000n) / 1000,
      remote: req.socket.remoteAddress, ...(res.writableFinished ? {} : { aborted: true }),
    });
  });
  try {
    const url = new URL(req.url ?? '/', 'http://registry');
    if (auth && !(await auth.authenticate(req.headers.authorization))) {
      const err = errs.unauthorized();
      err.headers['WWW-Authenticate'] = `Basic realm="${auth.realm}"`;
      throw err;
    }
    const r = route(url.pathname);
    if (!r) throw errs.notFound({ path: url.pathname });
    await dispatch({ reg, req, res, url }, r, req.method ?? 'GET');
  } catch (err) {
    if (res.headersSent) { res.destroy(); return; } // mid-stream: all we can do is cut the connection
    if (err instanceof RegistryError) { sendError(res, err); return; }
    if (req.destroyed) return; // the client aborted its upload; nobody to answer
    log.error('request failed', { method: req.method, path: req.url, error: err instanceof Error ? err.stack : String(err) });
    sendError(res, new RegistryError(500, 'UNKNOWN', 'internal error'));
  }
}

function dispatch(c: Ctx, r: Route, method: string): Promise<void> | void {
  const allow = (...methods: string[]) => {
    if (!methods.includes(method)) {
      const err = errs.methodNotAllowed({ method });
      err.headers.Allow = methods.join(', ');
      throw err;
    }
  };
  switch (r.kind) {
    case 'base':
      allow('GET', 'HEAD');
      return sendJson(c.res, 200, {});
    case 'catalog':
      allow('GET');
      return catalog(c);
    case 'tags':
      allow('GET');
      return listTags(c, r.name);
    case 'referrers':
      allow('GET');
      return referrers(c, r.name, r.digest);
    case 'manifest':
      allow('GET', 'HEAD', 'PUT', 'DELETE');
      if (method === 'PUT') return putManifest(c, r.name, r.ref);
      if (method === 'DELETE') return deleteManifest(c, r.name, r.ref);
      return getManifest(c, r.name, r.ref, method === 'HEAD');
    case 'blob':
      allow('GET', 'HEAD', 'DELETE');
      if (method === 'DELETE') return deleteBlob(c, r.name, r.digest);
      return getBlob(c, r.name, r.digest, method === 'HEAD');
    case 'uploadStart':
      allow('POST');
      return startUpload(c, r.name);
    case 'upload':
      allow('GET', 'PATCH', 'PUT', 'DELETE');
      if (method === 'PATCH') return patchUpload(c, r.name, r.uuid);
      if (method === 'PUT') return putUpload(c, r.name, r.uuid);
      if (method === 'DELETE') return deleteUpload(c, r.name, r.uuid);
      return getUpload(c, r.name, r.uuid);
  }
}
