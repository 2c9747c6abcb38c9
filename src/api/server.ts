// The Engine API HTTP server on the unix socket. Translates HTTP ⇄ handler calls and nothing else:
// JSON bodies, errors as {"message": …} with Docker's statuses, and hijacked connections for attach/exec.
import * as http from 'http';
import { Duplex } from 'stream';
import { promises as fs } from 'fs';
import { EngineError, errorMessage, invalidParameter } from '../common/errors';
import { log } from '../common/log';
import { Router, Context, API_VERSION } from './router';
import { MAX_JSON_BODY, bodyTooLarge, parseJsonBody as parseJson, readBoundedBody as readBody } from './json-body';

export const SERVER_VERSION = '0.1.0';

export function commonHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, 'Docker-Experimental': 'false', Ostype: 'linux', Server: `berth/${SERVER_VERSION} (linux)` };
}


function sendError(res: http.ServerResponse, err: unknown): void {
  const status = err instanceof EngineError ? err.status : 500;
  if (!(err instanceof EngineError)) log.error('request failed', { error: errorMessage(err), stack: (err as Error)?.stack?.split('\n').slice(1, 4).join(' | ') });
  else if (status >= 500) log.warn('request failed', { status, error: err.message });
  if (res.headersSent) { res.destroy(); return; }
  if (status === 304) { res.writeHead(304, commonHeaders()); res.end(); return; }
  const body = JSON.stringify({ message: errorMessage(err) }) + '\n';
  res.writeHead(status, { ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function writeResult(res: http.ServerResponse, result: unknown, method: string): void {
  if (res.headersSent || res.writableEnded) return;
  if (result === undefined) { res.writeHead(204, commonHeaders()); res.end(); return; }
  if (typeof result === 'string') {
    res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(result) });
    res.end(method === 'HEAD' ? undefined : result);
    return;
  }
  const status = (result as { __status?: number } | null)?.__status; // null is a valid answer (docker diff)
  if (status) delete (result as { __status?: number }).__status; // before serializing: the marker is not part of the answer
  const body = JSON.stringify(result) + '\n';
  res.writeHead(status ?? 200, { ...commonHeaders(), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Marks a JSON result with a status other than 200 (201 Created). */
export const withStatus = <T extends object>(status: number, value: T): T => Object.assign(value, { __status: status });

export function createApiServer(router: Router): http.Server {
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    void handle(req, res, undefined, undefined);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    void handle(req, undefined, socket, head);
  });
  server.on('clientError', (err, socket) => {
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || !socket.writable) return;
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse | undefined, upgradeSocket: Duplex | undefined, head: Buffer | undefined): Promise<void> {
    const method = req.method ?? 'GET';
    if (log.enabled('debug')) traceRequest(req, res, upgradeSocket);
    // Found by the API fuzzer (issue 16): a request target such as `//` or `//x:y` is a valid HTTP path but an
    // invalid URL; parsing it threw outside the try below, and the request was never answered.
    const url = requestUrl(req.url);
    // For upgraded requests we answer on the raw socket: emulate a response object for errors.
    const errorOut = (err: unknown) => {
      if (res) return sendError(res, err);
      const status = err instanceof EngineError ? err.status : 500;
      const body = JSON.stringify({ message: errorMessage(err) }) + '\n';
      upgradeSocket!.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${body}`);
    };
    let hijacked: Duplex | undefined;
    try {
      if (!url) throw invalidParameter(`invalid request path: ${String(req.url).slice(0, 100)}`);
      const m = router.match(method, url.pathname);
      if (!m.handler) {
        throw new EngineError(m.methodNotAllowed ? 405 : 404, m.methodNotAllowed ? 'method not allowed' : `page not found`);
      }
      let bodyPromise: Promise<Buffer> | undefined;
      const ctx: Context = {
        req, res, params: m.params, query: url.searchParams, apiVersion: m.apiVersion,
        body: () => (bodyPromise ??= upgradeSocket ? readUpgradeBody(req, upgradeSocket, head) : readBody(req)).then(parseJson),
        stream: () => req,
        hijack: (contentType: string) => {
          if (upgradeSocket) {
            const sock = upgradeSocket;
            const upgrade = req.headers.upgrade ?? 'tcp';
            sock.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\nApi-Version: ${API_VERSION}\r\n\r\n`);
            hijacked = sock;
            sock.pause(); // resumed by whoever consumes the client's bytes
            // Bytes the client sent right behind the request (early stdin) arrived in `head`.
            if (!bodyPromise && head && head.length) sock.unshift(head);
            return sock;
          }
          // No Upgrade header: stream over the ordinary response (chunked) and read stdin from the request body.
          const r = res!;
          r.writeHead(200, { ...commonHeaders(), 'Content-Type': contentType });
          r.flushHeaders();
          const duplex = responseDuplex(req, r);
          hijacked = duplex;
          return duplex;
        },
      };
      const result = await m.handler(ctx);
      if (hijacked) return;
      if (res) writeResult(res, result, method);
      else errorOut(new EngineError(400, 'this endpoint does not upgrade the connection'));
    } catch (err) {
      if (hijacked) { hijacked.destroy(); return; }
      errorOut(err);
    }
  }
  return server;
}

/** -D: each request's method, path and time to its answer (to its end for a hijacked stream), like dockerd's
 * "Calling …" lines, with the time it took: where a client's wall time goes, request by request. */
function traceRequest(req: http.IncomingMessage, res: http.ServerResponse | undefined, socket: Duplex | undefined): void {
  const t0 = performance.now();
  const done = (what: string) => () => log.debug(what, { method: req.method, path: req.url, ms: Math.round((performance.now() - t0) * 100) / 100 });
  if (res) res.once('finish', done('request'));
  else socket?.once('close', done('hijacked request'));
}

/** The request target as a URL (path and query), or undefined when it cannot be one. The target is taken as a path
 * even when it starts with `//` (which WHATWG URL parsing would read as a host). */
function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(`http://berth${(target ?? '/').startsWith('/') ? '' : '/'}${target ?? '/'}`);
  } catch {
    return undefined;
  }
}

/** A request/response pair as one duplex stream, for attach/exec start without an Upgrade header. */
function responseDuplex(req: http.IncomingMessage, res: http.ServerResponse): Duplex {
  const duplex = new Duplex({
    write(chunk, _enc, cb) { res.write(chunk, cb); },
    final(cb) { res.end(() => cb()); },
    read() { req.resume(); },
    destroy(err, cb) { res.destroy(); cb(err); },
  });
  req.on('data', (c: Buffer) => { if (!duplex.push(c)) req.pause(); });
  req.on('end', () => duplex.push(null));
  res.on('close', () => duplex.destroy());
  return duplex;
}

/** The body of an upgraded request (exec start's JSON) arrives in `head` and then on the socket. */
function readUpgradeBody(req: http.IncomingMessage, socket: Duplex, head: Buffer | undefined): Promise<Buffer> {
  const length = parseInt(String(req.headers['content-length'] ?? '0'), 10) || 0;
  let buf = head ?? Buffer.alloc(0);
  if (length > MAX_JSON_BODY) return Promise.reject(bodyTooLarge()); // never buffer what a client only announces
  return new Promise((resolve) => {
    const done = () => {
      socket.removeListener('data', onData);
      socket.pause();
      const body = buf.subarray(0, length);
      const rest = buf.subarray(length);
      if (rest.length) socket.unshift(rest);
      resolve(body);
    };
    const onData = (c: Buffer) => { buf = Buffer.concat([buf, c]); if (buf.length >= length) done(); };
    if (buf.length >= length) { done(); return; }
    socket.on('data', onData);
  });
}

export async function listenUnix(server: http.Server, socketPath: string): Promise<void> {
  await fs.rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => { server.removeListener('error', reject); resolve(); });
  });
  await fs.chmod(socketPath, 0o660);
}
