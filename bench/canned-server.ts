// The docker CLI's own floor: an Engine API server that does no work, answering `docker run --rm`, `docker exec
// <c> true` and `docker ps -a` from bodies recorded off a real daemon. The CLI's time against it is what no daemon can go
// below, so a target under it (issue 15's ps -a ≤ 0.5× dockerd) is out of reach through the docker CLI.
import * as http from 'http';
import { rmSync } from 'fs';

const CANNED_ID = 'c'.repeat(64);

export interface CannedBodies {
  /** GET /containers/json?all=1 */
  list: Buffer;
  /** GET /containers/<c>/json */
  inspect: Buffer;
}

export class CannedServer {
  private server?: http.Server;
  /** upgraded connections leave the server's books: closed here at stop, or close() would wait for them */
  private readonly upgraded = new Set<import('net').Socket>();

  /** bodies: what the server answers; a benchmark may record more of them later (the ps list once it exists) */
  constructor(readonly socket: string, readonly bodies: CannedBodies) {}

  get host(): string { return `unix://${this.socket}`; }

  async start(): Promise<void> {
    rmSync(this.socket, { force: true });
    const json = { 'Content-Type': 'application/json', 'Api-Version': '1.47', Ostype: 'linux' };
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '';
      req.resume();
      req.on('end', () => {
        if (url === '/_ping') { res.writeHead(200, { ...json, 'Content-Type': 'text/plain' }); res.end(req.method === 'HEAD' ? undefined : 'OK'); }
        else if (/\/containers\/json/.test(url)) { res.writeHead(200, json); res.end(this.bodies.list); }
        else if (/\/containers\/[^/]+\/json/.test(url)) { res.writeHead(200, json); res.end(this.bodies.inspect); }
        else if (/\/containers\/[^/]+\/exec$/.test(url)) { res.writeHead(201, json); res.end('{"Id":"canned"}'); }
        else if (/\/containers\/create/.test(url)) { res.writeHead(201, json); res.end(`{"Id":"${CANNED_ID}","Warnings":[]}`); }
        else if (/\/containers\/[^/]+\/wait/.test(url)) { res.writeHead(200, json); res.end('{"StatusCode":0}'); }
        else if (/\/containers\/[^/]+\/start/.test(url)) { res.writeHead(204); res.end(); }
        else if (/\/exec\/[^/]+\/json/.test(url)) { res.writeHead(200, json); res.end('{"ID":"canned","Running":false,"ExitCode":0,"Pid":0}'); }
        else { res.writeHead(404, json); res.end('{"message":"not in the canned server"}'); }
      });
    });
    // exec start and attach: the CLI upgrades the connection; the process "ran" and its stream ends at once
    this.server.on('upgrade', (_req, sock: import('net').Socket) => {
      this.upgraded.add(sock);
      sock.on('close', () => this.upgraded.delete(sock));
      // A half-open server socket: closed once the client has ended its side too (not at our end, where the CLI
      // may still be writing: it then failed with EPIPE), and at stop.
      sock.on('end', () => sock.destroy());
      sock.on('error', () => sock.destroy());
      sock.end('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    });
    await new Promise<void>((resolve) => this.server!.listen(this.socket, resolve));
  }

  async stop(): Promise<void> {
    for (const sock of this.upgraded) sock.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.socket, { force: true });
  }
}
