// /api/engine/<path>: the page's window onto the Engine API. The request is replayed through src/client
// (so it works against berth or dockerd alike) and the answer streamed back as-is — JSON, progress streams,
// tar archives. Pulls and pushes get the registry credentials the dashboard knows added as X-Registry-Auth.
import type { IncomingMessage, ServerResponse } from 'http';
import { Client } from '../../client';
import { readBody, sendError, toQuery } from './http-util';
import type { RegistryLogins } from './registry';

const MAX_BODY = 64 << 20;

export async function proxyEngine(client: Client, logins: RegistryLogins, req: IncomingMessage, res: ServerResponse, enginePath: string, params: URLSearchParams): Promise<void> {
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, MAX_BODY);
  const headers: Record<string, string> = {};
  const image = imageForAuth(method, enginePath, params);
  if (image !== undefined) headers['X-Registry-Auth'] = await logins.headerFor(registryDomain(image));
  let upstream: IncomingMessage;
  try {
    upstream = await client.request(method, enginePath, {
      query: toQuery(params), headers,
      body: body && body.length ? body : undefined,
      contentType: String(req.headers['content-type'] ?? 'application/json'),
    });
  } catch (err) {
    sendError(res, err);
    return;
  }
  const out: Record<string, string> = { 'Cache-Control': 'no-store' };
  for (const h of ['content-type', 'content-length', 'x-docker-container-path-stat']) {
    const v = upstream.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  res.writeHead(upstream.statusCode ?? 200, out);
  // a page that goes away (closed tab, aborted fetch) ends the engine request too: no work for nobody
  res.on('close', () => upstream.destroy());
  upstream.pipe(res);
}

/** The image whose registry needs credentials: pulls (POST /images/create?fromImage=) and pushes. */
export function imageForAuth(method: string, path: string, params: URLSearchParams): string | undefined {
  if (method !== 'POST') return undefined;
  if (path === '/images/create' && params.get('fromImage')) return params.get('fromImage')!;
  const m = /^\/images\/(.+)\/push$/.exec(path);
  return m ? decodeURIComponent(m[1]) : undefined;
}

/** docker's reference rule: the first component is a registry when it has a '.' or ':' or is localhost. */
export function registryDomain(name: string): string {
  const i = name.indexOf('/');
  if (i < 0) return 'docker.io';
  const first = name.slice(0, i);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}
