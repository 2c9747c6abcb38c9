// The page's HTML with the first view's data in it: the head (stylesheet, module script, modulepreloads) is sent
// at once so the browser fetches the code, while the server asks the engine for the containers list and then
// writes it into the body as a JSON data block. The list thus arrives with the HTML, in parallel with the code,
// in the same response rather than a second request (a module script runs only after the whole HTML is in, so
// it always finds the block). An engine that does not answer in time (or refuses) gets an HTML without the
// block: the page then asks for the list itself, as it does after a reconnection.
import type { IncomingMessage, ServerResponse } from 'http';
import { createGzip, constants as zc } from 'zlib';
import type { Writable } from 'stream';
import { Client, readAll } from '../../client';
import { CSP } from './static';

/** Where the data block goes in index.html, and the id the page reads it from (containers-store.ts). */
export const FIRST_DATA_MARK = '<!--FIRST-DATA-->';
export const FIRST_DATA_ID = 'first-containers';
/** The exact list the page would ask for (containers-store.ts, loadContainers). */
export const FIRST_LIST_PATH = '/containers/json';
/** How long the HTML waits for the engine before it goes out without the list. */
const WAIT_MS = 1000;

/**
 * JSON text made safe inside a <script> data block: every '<' becomes \u003c, so neither "</script" nor "<!--"
 * can appear (in JSON a '<' only occurs inside strings, where the escape means the same character).
 */
export function scriptSafeJson(json: string): string {
  return json.replace(/</g, '\\u003c');
}

export function dataBlock(json: string): string {
  return `<script type="application/json" id="${FIRST_DATA_ID}">${scriptSafeJson(json)}</script>`;
}

/** The engine's list as JSON text, or undefined when it fails or takes longer than `waitMs`. */
export async function firstList(client: Client, waitMs = WAIT_MS): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let upstream: IncomingMessage | undefined;
  let late = false;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => { late = true; upstream?.destroy(); resolve(undefined); }, waitMs); });
  const fetch = (async () => {
    try {
      const res = await client.request('GET', FIRST_LIST_PATH, { query: { all: '1' } });
      if (late) { res.destroy(); return undefined; }
      upstream = res;
      const text = (await readAll(res)).toString('utf8');
      JSON.parse(text); // only a complete list goes in; anything else leaves the asking to the page
      return text;
    } catch {
      return undefined;
    }
  })();
  try {
    return await Promise.race([fetch, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Serves index.html (`html`, holding FIRST_DATA_MARK) with the containers list written in at the mark. */
export async function serveFirstPage(client: Client, req: IncomingMessage, res: ServerResponse, html: string, waitMs = WAIT_MS): Promise<void> {
  const at = html.indexOf(FIRST_DATA_MARK);
  const head = at < 0 ? html : html.slice(0, at);
  const tail = at < 0 ? '' : html.slice(at + FIRST_DATA_MARK.length);
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': CSP,
    Vary: 'Accept-Encoding', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
  });
  if (req.method === 'HEAD') { res.end(); return; }
  res.socket?.setNoDelay(true);
  let out: Writable = res;
  let flush = () => undefined as void;
  if (gzip) {
    const z = createGzip({ level: 6 });
    z.pipe(res);
    out = z;
    flush = () => z.flush(zc.Z_SYNC_FLUSH);
  }
  // a page that goes away meanwhile: nothing more to write (the engine request ends by itself or by the timeout)
  let gone = false;
  res.on('close', () => { gone = true; });
  out.write(head);
  flush();
  const list = at < 0 ? undefined : await firstList(client, waitMs);
  if (gone) { out.destroy(); return; }
  out.end((list ? dataBlock(list) : '') + tail);
}
