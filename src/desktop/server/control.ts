// The control socket `berth desktop` talks to: a unix socket (mode 0600, in the state directory) answering
// GET /status, POST /token (a fresh one-time launch URL) and POST /stop. Only the user who started the
// dashboard can reach it, so it needs no token of its own.
import * as http from 'http';
import { chmodSync, unlinkSync } from 'fs';
import type { Dashboard } from './app';

export interface ControlStatus {
  pid: number;
  port: number;
  url: string;
  engineHost: string;
  engineUp: boolean;
  pages: number;
  /** pid of the engine `berth desktop` started for this dashboard, if it did */
  startedEngine?: number;
  startedAt: string;
}

export async function serveControl(socketPath: string, dash: Dashboard, info: { engineHost: string; startedEngine?: number }, stop: () => void): Promise<http.Server> {
  const startedAt = new Date().toISOString();
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/status') {
      const s: ControlStatus = {
        pid: process.pid, port: dash.port, url: `http://127.0.0.1:${dash.port}/`, engineHost: info.engineHost,
        engineUp: dash.hub.engineState.up, pages: dash.hub.pageCount, startedEngine: info.startedEngine, startedAt,
      };
      return reply(200, s);
    }
    if (req.method === 'POST' && req.url === '/token') return reply(200, { url: dash.launchUrl() });
    if (req.method === 'POST' && req.url === '/stop') {
      reply(200, { stopping: true });
      res.on('finish', stop);
      return;
    }
    reply(404, { message: 'not found' });
  });
  try { unlinkSync(socketPath); } catch { /* none left over */ }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return server;
}
