// A registry that serves whatever a test hands it (hostile layers, bombs, oversized manifests), on 127.0.0.1 and
// without auth: both berth and dockerd pull from loopback registries over plain HTTP. Blobs may be produced lazily
// (a generator), so a 100 GB bomb is never held in memory or on disk.
import * as http from 'http';
import { AddressInfo } from 'net';
import { createHash } from 'crypto';

export interface HostedBlob { digest: string; size: number; body: Buffer | (() => AsyncIterable<Buffer>) }

export class HostileRegistry {
  private server?: http.Server;
  readonly manifests = new Map<string, { type: string; body: Buffer }>(); // "name:ref" → document
  readonly blobs = new Map<string, HostedBlob>();
  port = 0;

  get host(): string { return `127.0.0.1:${this.port}`; }

  addBlob(body: Buffer): HostedBlob {
    const blob = { digest: `sha256:${createHash('sha256').update(body).digest('hex')}`, size: body.length, body };
    this.blobs.set(blob.digest, blob);
    return blob;
  }

  addLazyBlob(digest: string, size: number, body: () => AsyncIterable<Buffer>): HostedBlob {
    const blob = { digest, size, body };
    this.blobs.set(digest, blob);
    return blob;
  }

  /** A schema 2 image: config + layers (already compressed as given), tagged name:tag. */
  addImage(name: string, tag: string, layers: Array<{ blob: HostedBlob; mediaType?: string }>, config: Record<string, unknown>): void {
    const cfg = this.addBlob(Buffer.from(JSON.stringify(config)));
    const manifest = {
      schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: cfg.digest, size: cfg.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType ?? 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: l.blob.digest, size: l.blob.size })),
    };
    this.addManifest(name, tag, 'application/vnd.docker.distribution.manifest.v2+json', Buffer.from(JSON.stringify(manifest)));
  }

  addManifest(name: string, ref: string, type: string, body: Buffer): void {
    this.manifests.set(`${name}:${ref}`, { type, body });
    this.manifests.set(`${name}:sha256:${createHash('sha256').update(body).digest('hex')}`, { type, body });
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/' || url.pathname === '/v2') { res.writeHead(200, { 'Docker-Distribution-API-Version': 'registry/2.0' }); res.end('{}'); return; }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) { res.writeHead(404); res.end(); return; }
    const [, name, kind, ref] = m;
    if (kind === 'manifests') {
      const doc = this.manifests.get(`${name}:${ref}`);
      if (!doc) { res.writeHead(404, { 'Content-Type': 'application/json' }); res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'); return; }
      const digest = `sha256:${createHash('sha256').update(doc.body).digest('hex')}`;
      res.writeHead(200, { 'Content-Type': doc.type, 'Content-Length': doc.body.length, 'Docker-Content-Digest': digest });
      res.end(req.method === 'HEAD' ? undefined : doc.body);
      return;
    }
    const blob = this.blobs.get(ref);
    if (!blob) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.size, 'Docker-Content-Digest': blob.digest });
    if (req.method === 'HEAD') { res.end(); return; }
    if (Buffer.isBuffer(blob.body)) { res.end(blob.body); return; }
    try {
      for await (const chunk of blob.body()) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
      }
      res.end();
    } catch { res.destroy(); }
  }
}
