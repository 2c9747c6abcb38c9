// The dashboard's HTTP server: the security checks every request passes (Host allow-list, session cookie,
// Origin on state-changing requests and websocket upgrades), then the routes — the page's files, the SSE
// stream, the Engine API proxy, logs, files, the exec terminal, builds and the registry browser.
import * as http from 'http';
import type { AddressInfo } from 'net';
import { WebSocketServer } from 'ws';
import { Client } from '../../client';
import { Builds, BuildRequest } from './builds';
import { handleFiles } from './files';
import { serveFirstPage } from './first-page';
import { HttpError, readJson, sendError, sendJson } from './http-util';
import { Hub, StatsWant } from './hub';
import { streamLogs } from './logs';
import { proxyEngine } from './proxy';
import { RegistryBrowser, RegistryLogins } from './registry';
import { Guard, SAFE_METHODS } from './security';
import { StaticFiles } from './static';
import { bridgeTerminal } from './terminal';

export interface DashboardOptions {
  /** Engine API address (unix:///…, tcp://…). */
  engineHost: string;
  /** 127.0.0.1 port; 0 picks a free one. */
  port: number;
  /** Directory of the built page (dist/desktop-web). */
  webDir: string;
}

export interface Dashboard {
  port: number;
  guard: Guard;
  hub: Hub;
  client: Client;
  /** A fresh one-time URL that logs a browser in. */
  launchUrl(): string;
  close(): Promise<void>;
}

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY', 'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin', 'Cross-Origin-Opener-Policy': 'same-origin',
};

function refuse(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { message });
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const client = new Client(opts.engineHost);
  // an engine that answers now gets its API version agreed before the first page asks (the hub renegotiates
  // on every reconnection)
  await client.negotiateVersion().catch(() => undefined);
  const files = new StaticFiles(opts.webDir);
  const indexHtml = files.text('/index.html')!;
  const hub = new Hub(client);
  const logins = new RegistryLogins();
  const registry = new RegistryBrowser(logins);
  const builds = new Builds(client);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  let guard!: Guard;

  const server = http.createServer((req, res) => {
    for (const [k, v] of Object.entries(COMMON_HEADERS)) res.setHeader(k, v);
    handle(req, res).catch((err) => sendError(res, err));
  });
  server.keepAliveTimeout = 5000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const host = guard.checkHost(req.headers.host);
    if (!host.ok) return refuse(res, 403, host.reason);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    // the launch link: a one-time token becomes the session cookie, and the token leaves the address bar
    if (url.pathname === '/' && url.searchParams.has('token')) {
      const session = guard.exchange(url.searchParams.get('token') ?? '');
      if (!session) return refuse(res, 403, 'this link was used already or is not valid: run `berth desktop` for a new one');
      res.writeHead(302, { Location: '/', 'Set-Cookie': Guard.sessionCookie(session), 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    if (!guard.hasSession(req.headers.cookie)) {
      return refuse(res, 403, 'not signed in: open the link that `berth desktop` prints');
    }
    if (!SAFE_METHODS.has(method)) {
      const origin = guard.checkOrigin(req.headers.origin);
      if (!origin.ok) return refuse(res, 403, origin.reason);
    }
    const p = url.pathname;
    if (!p.startsWith('/api/')) {
      if (method !== 'GET' && method !== 'HEAD') return refuse(res, 405, 'method not allowed');
      if (p === '/' || p === '/index.html') return serveFirstPage(client, req, res, indexHtml);
      if (files.serve(req, res, p)) return;
      // client-side routes (#/…) all load the page; other unknown files are 404
      return refuse(res, 404, 'not found');
    }
    if (p.startsWith('/api/engine/')) return proxyEngine(client, logins, req, res, p.slice('/api/engine'.length), url.searchParams);
    if (p === '/api/stream' && method === 'GET') return hub.attach(req, res);
    if (p === '/api/subscribe' && method === 'POST') {
      const body = await readJson<{ page?: string; stats?: StatsWant }>(req);
      const want = body?.stats;
      if (!(want === 'none' || want === 'all' || (Array.isArray(want) && want.length <= 500 && want.every((x) => typeof x === 'string')))) {
        throw new HttpError(400, 'stats must be "none", "all" or a list of container ids');
      }
      if (!hub.subscribe(String(body.page ?? ''), want)) throw new HttpError(404, 'no such page stream');
      return sendJson(res, 200, { ok: true });
    }
    let m = /^\/api\/logs\/([^/]+)$/.exec(p);
    if (m && method === 'GET') return streamLogs(client, req, res, decodeURIComponent(m[1]), url.searchParams);
    m = /^\/api\/files\/(list|download|upload)$/.exec(p);
    if (m) return handleFiles(client, req, res, m[1], url.searchParams);
    if (p === '/api/run' && method === 'POST') return runContainer(client, req, res);
    if (p === '/api/builds') {
      if (method === 'GET') return sendJson(res, 200, builds.list());
      if (method === 'POST') return sendJson(res, 201, builds.start(await readJson<BuildRequest>(req, 2 << 20)));
    }
    m = /^\/api\/builds\/([0-9a-f]+)\/log$/.exec(p);
    if (m && method === 'GET') return builds.follow(m[1], res, url.searchParams.get('follow') === '1');
    if (p.startsWith('/api/registry/')) {
      // the registry's own refusals (unknown repository, bad login) are shown as they are, not as a server fault
      return registryRoute(registry, logins, req, res, p.slice('/api/registry/'.length), url.searchParams)
        .catch((err) => { throw err instanceof HttpError ? err : new HttpError(502, (err as Error).message); });
    }
    if (p === '/api/status' && method === 'GET') {
      return sendJson(res, 200, { engineHost: opts.engineHost, engine: hub.engineState, pages: hub.pageCount });
    }
    return refuse(res, 404, 'not found');
  }

  server.on('upgrade', (req, socket, head) => {
    const deny = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${reason}\n`);
    };
    const host = guard.checkHost(req.headers.host);
    if (!host.ok) return deny(403, host.reason);
    const origin = guard.checkOrigin(req.headers.origin);
    if (!origin.ok) return deny(403, origin.reason);
    if (!guard.hasSession(req.headers.cookie)) return deny(403, 'not signed in');
    if (!(req.url ?? '').startsWith('/api/terminal?')) return deny(404, 'not found');
    wss.handleUpgrade(req, socket, head, (ws) => { bridgeTerminal(client, ws, req).catch(() => ws.close()); });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  guard = new Guard(port);
  return {
    port, guard, hub, client,
    launchUrl: () => `http://127.0.0.1:${port}/?token=${guard.issueToken()}`,
    close: async () => {
      hub.close();
      for (const ws of wss.clients) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      client.close();
    },
  };
}

/** Create and start, the way `docker run -d` does; a container whose start fails is removed again. */
async function runContainer(client: Client, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readJson<{ name?: string; config?: Record<string, unknown> }>(req);
  if (!body?.config || typeof body.config !== 'object' || typeof body.config.Image !== 'string' || !body.config.Image) {
    throw new HttpError(400, 'an image is required');
  }
  const created = await client.containerCreate(body.config, body.name || undefined);
  try {
    await client.containerStart(created.Id);
  } catch (err) {
    await client.containerRemove(created.Id, { force: '1', v: '1' }).catch(() => undefined);
    throw err;
  }
  sendJson(res, 201, { Id: created.Id, Warnings: created.Warnings ?? [] });
}

async function registryRoute(registry: RegistryBrowser, logins: RegistryLogins, req: http.IncomingMessage, res: http.ServerResponse, action: string, q: URLSearchParams): Promise<void> {
  const method = req.method ?? 'GET';
  const domain = () => RegistryBrowser.checkDomain(q.get('registry') ?? '');
  if (action === 'login' && method === 'POST') {
    const b = await readJson<{ registry?: string; username?: string; password?: string }>(req);
    const d = RegistryBrowser.checkDomain(String(b?.registry ?? ''));
    if (!b.username) throw new HttpError(400, 'username required');
    await logins.login(d, String(b.username), String(b.password ?? ''));
    return sendJson(res, 200, { status: 'Login Succeeded' });
  }
  if (action === 'logout' && method === 'POST') { logins.logout(domain()); return sendJson(res, 200, { ok: true }); }
  if (action === 'logins' && method === 'GET') return sendJson(res, 200, logins.domains());
  if (action === 'catalog' && method === 'GET') return sendJson(res, 200, await registry.catalog(domain()));
  if (action === 'tags' && method === 'GET') return sendJson(res, 200, await registry.tags(domain(), q.get('repo') ?? ''));
  if (action === 'manifest' && method === 'GET') return sendJson(res, 200, await registry.manifest(domain(), q.get('repo') ?? '', q.get('ref') ?? 'latest'));
  throw new HttpError(404, 'not found');
}
