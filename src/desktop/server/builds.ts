// Builds started from the dashboard: a Dockerfile sent by the page becomes a one-file build context for
// POST /build; the engine's JSON progress stream is kept as the build's log (the last builds, in memory,
// since the Engine API keeps no build history) and can be followed live by any page.
import type { ServerResponse } from 'http';
import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import { pack } from 'tar-stream';
import { Client, JsonStreamParser } from '../../client';
import { HttpError } from './http-util';

export interface BuildRequest { dockerfile: string; tag?: string; noCache?: boolean; buildArgs?: Record<string, string> }

export interface BuildSummary {
  id: string;
  tag: string;
  started: number;
  finished?: number;
  status: 'running' | 'succeeded' | 'failed';
  error?: string;
  imageId?: string;
  lineCount: number;
}

interface BuildRecord extends BuildSummary { lines: string[]; followers: Set<ServerResponse> }

const KEEP_BUILDS = 20;
const MAX_LINES = 50_000;
const MAX_DOCKERFILE = 1 << 20;
const TAG_RE = /^[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/;

export class Builds {
  private readonly records: BuildRecord[] = [];

  constructor(private readonly client: Client) {}

  list(): BuildSummary[] {
    return this.records.map(({ lines: _l, followers: _f, ...s }) => s);
  }

  start(req: BuildRequest): BuildSummary {
    if (typeof req?.dockerfile !== 'string' || !req.dockerfile.trim()) throw new HttpError(400, 'a Dockerfile is required');
    if (Buffer.byteLength(req.dockerfile) > MAX_DOCKERFILE) throw new HttpError(413, 'Dockerfile larger than 1 MiB');
    const tag = (req.tag ?? '').trim();
    if (tag && !TAG_RE.test(tag)) throw new HttpError(400, `invalid reference format: ${JSON.stringify(tag)}`);
    const rec: BuildRecord = {
      id: randomBytes(6).toString('hex'), tag, started: Date.now(), status: 'running', lineCount: 0, lines: [], followers: new Set(),
    };
    this.records.unshift(rec);
    for (const old of this.records.splice(KEEP_BUILDS)) for (const f of old.followers) f.end();
    this.run(rec, req).catch((err) => this.finish(rec, 'failed', (err as Error).message.replace(/^Error response from daemon: /, '')));
    return this.list()[0];
  }

  /** Writes the build's log so far and, with follow, what comes until it ends. */
  follow(id: string, res: ServerResponse, follow: boolean): void {
    const rec = this.records.find((r) => r.id === id);
    if (!rec) throw new HttpError(404, `no such build: ${id}`);
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    for (const l of rec.lines) res.write(l + '\n');
    if (!follow || rec.status !== 'running') { res.end(); return; }
    rec.followers.add(res);
    res.on('close', () => rec.followers.delete(res));
  }

  private async run(rec: BuildRecord, req: BuildRequest): Promise<void> {
    const tar = pack();
    tar.entry({ name: 'Dockerfile', mode: 0o644 }, req.dockerfile);
    tar.finalize();
    const res = await this.client.request('POST', '/build', {
      query: { t: rec.tag || undefined, dockerfile: 'Dockerfile', rm: '1', nocache: req.noCache ? '1' : undefined, buildargs: req.buildArgs ? JSON.stringify(req.buildArgs) : undefined },
      body: Readable.from(tar), contentType: 'application/x-tar',
    });
    let error: string | undefined;
    const parser = new JsonStreamParser((v) => {
      const m = v as { stream?: string; status?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } };
      if (m.aux?.ID) rec.imageId = m.aux.ID;
      if (m.error) { error = m.errorDetail?.message ?? m.error; this.append(rec, `ERROR: ${error}`); }
      const text = m.stream ?? (m.status ? m.status : undefined);
      if (text) for (const l of text.replace(/\n$/, '').split('\n')) this.append(rec, l);
    });
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => { try { parser.push(c); } catch (err) { reject(err); } });
      res.on('end', resolve);
      res.on('error', reject);
    });
    this.finish(rec, error ? 'failed' : 'succeeded', error);
  }

  private append(rec: BuildRecord, line: string): void {
    if (rec.lines.length >= MAX_LINES) rec.lines.shift();
    rec.lines.push(line);
    rec.lineCount++;
    for (const f of rec.followers) f.write(line + '\n');
  }

  private finish(rec: BuildRecord, status: 'succeeded' | 'failed', error?: string): void {
    if (error && !rec.lines.some((l) => l.includes(error))) this.append(rec, `ERROR: ${error}`);
    rec.status = status;
    rec.error = error;
    rec.finished = Date.now();
    for (const f of rec.followers) f.end();
    rec.followers.clear();
  }
}
