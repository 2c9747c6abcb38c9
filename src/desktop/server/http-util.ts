// Small helpers every route of the dashboard server uses: JSON answers, docker-style error bodies, bounded
// request bodies, and the mapping of engine client errors to statuses.
import type { IncomingMessage, ServerResponse } from 'http';
import { ApiError, ConnectionError, Query } from '../../client';

export class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), 'Cache-Control': 'no-store' });
  res.end(data);
}

/** An error as the page sees it: `{message}` like the Engine API, plus `engineDown` when the engine is unreachable. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) { res.destroy(); return; }
  if (err instanceof HttpError) return sendJson(res, err.status, { message: err.message });
  if (err instanceof ApiError) return sendJson(res, err.status, { message: err.daemonMessage });
  if (err instanceof ConnectionError || isConnRefused(err)) {
    return sendJson(res, 502, { message: (err as Error).message, engineDown: true });
  }
  sendJson(res, 500, { message: err instanceof Error ? err.message : String(err) });
}

function isConnRefused(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET';
}

/** Reads a request body up to `limit` bytes; larger bodies are refused with 413. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { reject(new HttpError(413, `request body larger than ${limit} bytes`)); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function readJson<T>(req: IncomingMessage, limit = 1 << 20): Promise<T> {
  const buf = await readBody(req, limit);
  try {
    return JSON.parse(buf.toString('utf8') || 'null') as T;
  } catch (err) {
    throw new HttpError(400, `invalid JSON: ${(err as Error).message}`);
  }
}

export function toQuery(params: URLSearchParams): Query {
  const q: Query = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    q[key] = all.length === 1 ? all[0] : all;
  }
  return q;
}

/** A Content-Disposition attachment header that survives any file name. */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
