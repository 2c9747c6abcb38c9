// Small HTTP helpers shared by the handlers: the API version header on every response, error rendering,
// and bounded body reading (manifests are read whole, but never more than the limit).
import type { IncomingMessage, ServerResponse } from 'http';
import { RegistryError, errorBody, errs } from './errors';

export type Headers = Record<string, string | number>;

export const API_VERSION = { 'Docker-Distribution-API-Version': 'registry/2.0' };

export function send(res: ServerResponse, status: number, headers: Headers, body?: string | Buffer): void {
  const h: Headers = { ...API_VERSION, ...headers };
  if (h['Content-Length'] === undefined) h['Content-Length'] = body === undefined ? 0 : Buffer.byteLength(body);
  res.writeHead(status, h);
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Headers = {}): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

export function sendError(res: ServerResponse, err: RegistryError, extra: Headers = {}): void {
  send(res, err.status, { 'Content-Type': 'application/json', ...extra, ...err.headers }, errorBody(err));
}

/** Reads the request body into memory, refusing more than `limit` bytes (413). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(errs.tooLarge({ limit })); // Node drains the unread body
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (b: Buffer) => {
      n += b.length;
      // Stop collecting but keep reading (and dropping) the rest: cutting the connection instead would
      // make most clients report a network error rather than the 413.
      if (n > limit) { req.removeAllListeners('data'); req.resume(); reject(errs.tooLarge({ limit })); return; }
      parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts, n)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted')));
  });
}

/** Whether the request carries a body (a final chunk on PUT, a blob on POST ?digest=). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** Header value as one string (Node gives arrays for repeated headers). */
export const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};
