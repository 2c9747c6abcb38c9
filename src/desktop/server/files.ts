// File browsing for containers and volumes through the Engine API's archive endpoints: a directory listing is
// read from GET /containers/{id}/archive (tar headers only, bodies skipped), a file downloads as itself, a
// directory as a tar, and an upload is wrapped in a one-file tar for PUT /containers/{id}/archive. A volume is
// browsed through a created-never-started helper container that mounts it read-only at /volume.
import type { IncomingMessage, ServerResponse } from 'http';
import * as path from 'path';
import { Readable } from 'stream';
import { extract, pack } from 'tar-stream';
import { Client, ContainerPathStat } from '../../client';
import { attachment, HttpError, sendError, sendJson } from './http-util';

export interface FileEntry { name: string; type: 'dir' | 'file' | 'link' | 'other'; size: number; mode: number; mtime: string; linkTarget?: string }

/** Go's os.ModeDir and os.ModeSymlink bits as they appear in the X-Docker-Container-Path-Stat mode. */
const MODE_DIR = 0x80000000;
const MODE_SYMLINK = 0x08000000;
/** A listing reads at most this much of the archive (a directory's tar carries its files' contents). */
const LIST_BYTE_CAP = 256 << 20;
export const HELPER_LABEL = 'com.berth.desktop.helper';

/** Normalises a path the page sent: absolute, no '..' escaping the root. */
export function cleanPath(p: string | null): string {
  const s = path.posix.normalize('/' + (p ?? '/'));
  return s.length > 1 ? s.replace(/\/+$/, '') : '/';
}

function typeOf(t: string | undefined): FileEntry['type'] {
  if (t === 'directory') return 'dir';
  if (t === 'file' || t === 'contiguous-file') return 'file';
  if (t === 'symlink' || t === 'link') return 'link';
  return 'other';
}

/** Lists the direct children of `dir` in the container from its archive. */
export async function listDir(client: Client, id: string, dir: string): Promise<{ entries: FileEntry[]; truncated: boolean }> {
  const stat = await client.containerStatPath(id, dir);
  if (!(stat.mode & MODE_DIR) && !(stat.mode & MODE_SYMLINK)) throw new HttpError(400, `${dir} is not a directory`);
  const { content } = await client.copyFromContainer(id, dir.endsWith('/') ? dir : dir + '/');
  return new Promise((resolve, reject) => {
    const entries: FileEntry[] = [];
    let read = 0;
    let truncated = false;
    const ex = extract();
    // the first entry is the directory itself ("etc/", or "/" for the root); children sit one level below it
    let base: string | undefined;
    ex.on('entry', (h, stream, next) => {
      const name = normEntry(h.name);
      if (base === undefined) base = name;
      else {
        const rel = base === '' ? name : name.startsWith(base + '/') ? name.slice(base.length + 1) : '';
        if (rel && !rel.includes('/')) {
          entries.push({
            name: rel, type: typeOf(h.type), size: h.size ?? 0, mode: h.mode ?? 0,
            mtime: h.mtime ? h.mtime.toISOString() : '', linkTarget: h.linkname ?? undefined,
          });
        }
      }
      stream.on('end', next);
      stream.resume();
    });
    ex.on('finish', () => resolve({ entries: sortEntries(entries), truncated }));
    ex.on('error', reject);
    content.on('data', (c: Buffer) => {
      read += c.length;
      if (read > LIST_BYTE_CAP && !truncated) {
        truncated = true;
        content.destroy();
        resolve({ entries: sortEntries(entries), truncated });
      }
    });
    content.on('error', reject);
    content.pipe(ex);
  });
}

/** A tar entry name without leading './' or '/' and trailing '/'. */
export function normEntry(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

function sortEntries(e: FileEntry[]): FileEntry[] {
  return e.sort((a, b) => (a.type === 'dir' ? 0 : 1) - (b.type === 'dir' ? 0 : 1) || a.name.localeCompare(b.name));
}

/** Streams a file as itself, or a directory as a tar. */
export async function download(client: Client, res: ServerResponse, id: string, p: string): Promise<void> {
  const { stat, content } = await client.copyFromContainer(id, p);
  const isDir = !!(stat.mode & MODE_DIR);
  const base = path.posix.basename(p) || 'root';
  if (isDir) {
    res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Content-Disposition': attachment(base + '.tar'), 'Cache-Control': 'no-store' });
    res.on('close', () => content.destroy());
    content.pipe(res);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const ex = extract();
    let sent = false;
    ex.on('entry', (h, stream, next) => {
      if (sent) { stream.resume(); stream.on('end', next); return; }
      sent = true;
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream', 'Content-Disposition': attachment(base),
        'Content-Length': String(h.size ?? 0), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff',
      });
      stream.on('data', (c: unknown) => {
        if (!res.write(c as Buffer)) { stream.pause(); res.once('drain', () => stream.resume()); }
      });
      stream.on('end', () => { res.end(); next(); });
    });
    ex.on('finish', () => { if (!sent) reject(new HttpError(404, `no file in the archive of ${p}`)); else resolve(); });
    ex.on('error', reject);
    res.on('close', () => content.destroy());
    content.pipe(ex);
  });
}

/** Uploads one file (the request body) as `name` into the directory `dir`. */
export async function upload(client: Client, req: IncomingMessage, id: string, dir: string, name: string, maxBytes: number): Promise<void> {
  if (!name || name.includes('/') || name === '.' || name === '..') throw new HttpError(400, `invalid file name ${JSON.stringify(name)}`);
  const size = Number(req.headers['content-length']);
  if (!Number.isInteger(size) || size < 0) throw new HttpError(411, 'Content-Length required');
  if (size > maxBytes) throw new HttpError(413, `file larger than ${maxBytes} bytes`);
  const tar = pack();
  const entry = tar.entry({ name, size, mode: 0o644, mtime: new Date() }, (err) => { if (err) tar.destroy(err); else tar.finalize(); });
  req.on('data', (c: Buffer) => { if (!entry.write(c)) { req.pause(); entry.once('drain', () => req.resume()); } });
  req.on('end', () => entry.end(undefined));
  req.on('error', (err) => tar.destroy(err));
  // tar-stream's pack is a streamx stream: Readable.from gives the client the node stream it pipes
  await client.copyToContainer(id, dir, Readable.from(tar));
}

export function isDirStat(s: ContainerPathStat): boolean { return !!(s.mode & MODE_DIR); }

/**
 * Runs `fn` with a helper container (created, never started) that mounts `volume` read-only at /volume, and
 * removes the helper afterwards whatever happens. Any local image will do: it is never run.
 */
export async function withVolume<T>(client: Client, volume: string, fn: (id: string) => Promise<T>): Promise<T> {
  await client.json('GET', `/volumes/${encodeURIComponent(volume)}`);
  const images = await client.imageList({});
  const image = images.find((i) => i.RepoTags?.some((t) => t !== '<none>:<none>'))?.Id ?? images[0]?.Id;
  if (!image) throw new HttpError(409, 'browsing a volume needs any local image (for a helper container that is never started)');
  const created = await client.containerCreate({
    Image: image, Entrypoint: ['/volume-browser-never-runs'], Cmd: [], Labels: { [HELPER_LABEL]: 'volume' },
    HostConfig: { Binds: [`${volume}:/volume:ro`], NetworkMode: 'none' },
  });
  try {
    return await fn(created.Id);
  } finally {
    await client.containerRemove(created.Id, { force: '1', v: '0' }).catch(() => undefined);
  }
}

export async function handleFiles(client: Client, req: IncomingMessage, res: ServerResponse, action: string, params: URLSearchParams): Promise<void> {
  const container = params.get('container');
  const volume = params.get('volume');
  const p = cleanPath(params.get('path'));
  try {
    if (!container && !volume) throw new HttpError(400, 'container or volume required');
    const run = <T>(fn: (id: string, inner: string) => Promise<T>): Promise<T> =>
      container ? fn(container, p) : withVolume(client, volume!, (id) => fn(id, cleanPath('/volume' + p)));
    if (action === 'list' && req.method === 'GET') {
      const listing = await run((id, inner) => listDir(client, id, inner));
      return sendJson(res, 200, { path: p, ...listing });
    }
    if (action === 'download' && req.method === 'GET') {
      if (volume) {
        // the helper must outlive the stream: remove it when the response is done
        await withVolume(client, volume, (id) => new Promise<void>((resolve, reject) => {
          res.on('close', resolve);
          download(client, res, id, cleanPath('/volume' + p)).catch(reject);
        }));
        return;
      }
      return await download(client, res, container!, p);
    }
    if (action === 'upload' && req.method === 'PUT') {
      if (!container) throw new HttpError(400, 'uploads go to containers');
      await upload(client, req, container, p, params.get('name') ?? '', 1 << 30);
      return sendJson(res, 200, { ok: true });
    }
    throw new HttpError(404, 'not found');
  } catch (err) {
    sendError(res, err);
  }
}
