// A small router: method + path pattern → handler, with the Engine API's optional /vX.Y prefix.
import type { IncomingMessage, ServerResponse } from 'http';
import type { Duplex } from 'stream';
import { invalidParameter } from '../common/errors';

export const API_VERSION = '1.47';
export const MIN_API_VERSION = '1.24';

export interface Context {
  req: IncomingMessage;
  /** undefined for hijacked (upgraded) requests: use `hijack()` then. */
  res?: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  apiVersion: string;
  body(): Promise<unknown>;
  /** the raw body stream (image import, archives) */
  stream(): NodeJS.ReadableStream;
  /** Takes over the connection (attach, exec start): answers 101 (or 200 without Upgrade) and returns the socket. */
  hijack(contentType: string): Duplex;
}

export type Handler = (ctx: Context) => Promise<unknown> | unknown;
interface Route { method: string; pattern: RegExp; keys: string[]; handler: Handler }

export class Router {
  private routes: Route[] = [];

  add(method: string, path: string, handler: Handler): void {
    const keys: string[] = [];
    // {name} matches one segment, except for image names, which contain slashes: {name*}
    const pattern = new RegExp('^' + path.replace(/\{(\w+)(\*?)\}/g, (_m, key: string, star: string) => {
      keys.push(key);
      return star ? '(.+?)' : '([^/]+)';
    }) + '/?$');
    this.routes.push({ method, pattern, keys, handler });
  }

  /** Resolves a request path (without query) to a handler and its params; strips and checks the version prefix. */
  match(method: string, rawPath: string): { handler?: Handler; params: Record<string, string>; apiVersion: string; methodNotAllowed: boolean } {
    let path = rawPath;
    let apiVersion = API_VERSION;
    const v = /^\/v(\d+\.\d+)(\/.*)$/.exec(rawPath);
    if (v) {
      apiVersion = v[1];
      path = v[2];
      if (compareVersions(apiVersion, API_VERSION) > 0) throw invalidParameter(`client version ${apiVersion} is too new. Maximum supported API version is ${API_VERSION}`);
      if (compareVersions(apiVersion, MIN_API_VERSION) < 0) throw invalidParameter(`client version ${apiVersion} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
    }
    let methodNotAllowed = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) { methodNotAllowed = true; continue; }
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => { params[k] = decodePathParam(m[i + 1]); });
      return { handler: r.handler, params, apiVersion, methodNotAllowed: false };
    }
    return { params: {}, apiVersion, methodNotAllowed };
  }
}

/** A path segment as the handler sees it. A malformed escape (`%E0%A4%A`) is the client's error (400), not a
 * URIError the server would answer with 500; a NUL can name nothing and is refused here once for every route. */
function decodePathParam(raw: string): string {
  let v: string;
  try { v = decodeURIComponent(raw); } catch { throw invalidParameter(`invalid escape in the request path: ${raw.slice(0, 100)}`); }
  if (v.includes('\0')) throw invalidParameter('invalid NUL character in the request path');
  return v;
}

export function compareVersions(a: string, b: string): number {
  const [a1, a2] = a.split('.').map(Number);
  const [b1, b2] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

export const boolParam = (q: URLSearchParams, name: string, dflt = false): boolean => {
  const v = q.get(name);
  if (v === null) return dflt;
  return !['', '0', 'false', 'False', 'FALSE', 'no'].includes(v);
};

export const intParam = (q: URLSearchParams, name: string): number | undefined => {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw invalidParameter(`invalid value for ${name}: ${v}`);
  return Math.trunc(n);
};

/** Docker's `filters` query parameter: {"status":["running"]} or the legacy {"status":{"running":true}}. */
export function parseFilters(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try { parsed = JSON.parse(raw); } catch { throw invalidParameter(`invalid filter: ${raw}`); }
  if (!parsed || typeof parsed !== 'object') throw invalidParameter(`invalid filter: ${raw}`);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.keys(v as object).filter((x) => (v as Record<string, unknown>)[x]);
    else throw invalidParameter(`invalid filter '${k}'`);
  }
  return out;
}
