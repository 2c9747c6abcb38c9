// The page's files (dist/desktop-web: index.html, the split JS chunks, CSS), read once at start and kept
// in memory with their gzip forms, so serving them is a map lookup. Chunk names carry a content hash and
// are cached forever; index.html is never cached.
import { readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import type { IncomingMessage, ServerResponse } from 'http';

interface Asset { body: Buffer; gz?: Buffer; type: string; immutable: boolean }

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.map': 'application/json',
};

/** The page's Content-Security-Policy: own scripts and connections only, no inline script, no frames. Inline styles are
 * allowed because xterm.js themes its terminal with a style element; styles cannot run code. */
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export class StaticFiles {
  private readonly assets = new Map<string, Asset>();

  constructor(readonly dir: string) {
    this.load(dir, '');
    if (!this.assets.has('/index.html')) throw new Error(`the dashboard's web files are missing in ${dir}: run npm run build`);
  }

  private load(dir: string, prefix: string): void {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) { this.load(full, `${prefix}/${name}`); continue; }
      const body = readFileSync(full);
      const ext = path.extname(name);
      const gz = ['.html', '.js', '.css', '.svg', '.json'].includes(ext) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
      this.assets.set(`${prefix}/${name}`, { body, gz, type: TYPES[ext] ?? 'application/octet-stream', immutable: /-[A-Z0-9]{8}\.(js|css)$/.test(name) });
    }
  }

  /** Bytes served over the wire for these files (gzip when available), for the first-view size check. */
  wireSize(file: string): number | undefined {
    const a = this.assets.get(file);
    return a ? (a.gz ?? a.body).length : undefined;
  }

  has(p: string): boolean { return this.assets.has(p); }

  /** A file's text (index.html, which the first page is made from). */
  text(p: string): string | undefined { return this.assets.get(p)?.body.toString('utf8'); }

  serve(req: IncomingMessage, res: ServerResponse, p: string, extraHeaders: Record<string, string> = {}): boolean {
    const a = this.assets.get(p);
    if (!a) return false;
    const gzip = !!a.gz && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? a.gz! : a.body;
    res.writeHead(200, {
      'Content-Type': a.type, 'Content-Length': body.length, Vary: 'Accept-Encoding',
      'Cache-Control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
      ...(a.type.startsWith('text/html') ? { 'Content-Security-Policy': CSP } : {}),
      ...extraHeaders,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
