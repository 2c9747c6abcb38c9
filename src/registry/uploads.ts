// Blob upload sessions (POST → PATCH… → PUT). Each session is a directory uploads/<uuid>/ with the bytes
// received so far in `data` and its repository in `info.json`, so a session survives a registry restart
// and a client can ask for its offset (GET) and resume. The sha256 state is kept in memory and advanced
// as chunks arrive, so finishing a 10 GB upload does not re-read 10 GB; after a restart it is rebuilt
// once from the file. Requests on one session run one after another (a per-session queue); a failed or
// aborted chunk is rolled back (file truncated, hash restored) so the session stays consistent.
import { promises as fs, createReadStream, createWriteStream } from 'fs';
import * as path from 'path';
import { createHash, Hash, randomUUID } from 'crypto';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import { errs } from './errors';
import { listDir } from './fsutil';

export interface Session {
  readonly uuid: string;
  readonly repo: string;
  readonly dir: string;
  /** Bytes received. */
  size: number;
  /** sha256 of those bytes; undefined after a restart until first needed. */
  hash: Hash | undefined;
  /** Last activity (ms since epoch), for expiry. */
  touched: number;
  queue: Promise<unknown>;
  closed: boolean;
}

/** A chunk as the client described it: Content-Range start, and its length when known. */
export interface Chunk {
  body: Readable;
  start?: number;
  length?: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class Uploads {
  private sessions = new Map<string, Session>();

  constructor(private readonly dir: string) {}

  /** Re-opens the sessions left on disk by a previous run. */
  async load(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    for (const e of await listDir(this.dir)) {
      const dir = path.join(this.dir, e.name);
      try {
        if (!UUID_RE.test(e.name)) throw new Error('not a session');
        const info = JSON.parse(await fs.readFile(path.join(dir, 'info.json'), 'utf8')) as { repo: string };
        const st = await fs.stat(path.join(dir, 'data'));
        this.sessions.set(e.name, { uuid: e.name, repo: info.repo, dir, size: st.size, hash: undefined, touched: st.mtimeMs, queue: Promise.resolve(), closed: false });
      } catch {
        await fs.rm(dir, { recursive: true, force: true }); // half-created or foreign: nothing to resume
      }
    }
  }

  async create(repo: string): Promise<Session> {
    const uuid = randomUUID();
    const dir = path.join(this.dir, uuid);
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'data'), '');
    await fs.writeFile(path.join(dir, 'info.json'), JSON.stringify({ repo }));
    const s: Session = { uuid, repo, dir, size: 0, hash: createHash('sha256'), touched: Date.now(), queue: Promise.resolve(), closed: false };
    this.sessions.set(uuid, s);
    return s;
  }

  /** The session, if it exists and belongs to this repository (a uuid is not a capability across repos). */
  get(repo: string, uuid: string): Session | undefined {
    const s = this.sessions.get(uuid);
    return s && s.repo === repo && !s.closed ? s : undefined;
  }

  dataPath = (s: Session) => path.join(s.dir, 'data');

  /** PATCH: appends a chunk. */
  append(s: Session, chunk: Chunk): Promise<void> {
    return this.serialize(s, () => this.appendNow(s, chunk));
  }

  /**
   * PUT: appends the optional final chunk, then closes the session and hands back its file and digest.
   * The caller verifies the digest and either adopts the file or calls discard().
   */
  complete(s: Session, chunk?: Chunk): Promise<{ file: string; digest: string; size: number }> {
    return this.serialize(s, async () => {
      if (chunk) await this.appendNow(s, chunk);
      const hash = await this.ensureHash(s);
      s.closed = true;
      this.sessions.delete(s.uuid);
      return { file: this.dataPath(s), digest: `sha256:${hash.digest('hex')}`, size: s.size };
    });
  }

  /** DELETE, or the end of a completed/failed session: forgets it and removes its directory. */
  discard(s: Session): Promise<void> {
    s.closed = true;
    this.sessions.delete(s.uuid);
    return this.serialize(s, () => fs.rm(s.dir, { recursive: true, force: true }), true);
  }

  /** Removes sessions idle for longer than maxAgeMs (clients that vanished mid-push). */
  async purge(maxAgeMs: number): Promise<number> {
    const limit = Date.now() - maxAgeMs;
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.touched < limit) { await this.discard(s); n++; }
    }
    return n;
  }

  private serialize<T>(s: Session, fn: () => Promise<T>, evenIfClosed = false): Promise<T> {
    const run = async () => {
      if (s.closed && !evenIfClosed) throw errs.uploadUnknown();
      return fn();
    };
    const next = s.queue.then(run, run);
    s.queue = next.catch(() => undefined);
    return next;
  }

  private async appendNow(s: Session, chunk: Chunk): Promise<void> {
    if (chunk.start !== undefined && chunk.start !== s.size) {
      throw errs.rangeInvalid({ expectedStart: s.size, start: chunk.start });
    }
    const hash = await this.ensureHash(s);
    const saved = hash.copy();
    const before = s.size;
    let n = 0;
    const tap = new Transform({
      transform(data: Buffer, _enc, cb) { hash.update(data); n += data.length; cb(null, data); },
    });
    try {
      await pipeline(chunk.body, tap, createWriteStream(this.dataPath(s), { flags: 'a', highWaterMark: 1 << 20 }));
      if (chunk.length !== undefined && n !== chunk.length) throw errs.sizeInvalid({ expected: chunk.length, received: n });
    } catch (err) {
      s.hash = saved;
      await fs.truncate(this.dataPath(s), before).catch(() => undefined);
      throw err;
    }
    s.size = before + n;
    s.touched = Date.now();
  }

  private async ensureHash(s: Session): Promise<Hash> {
    if (!s.hash) {
      const h = createHash('sha256');
      for await (const data of createReadStream(this.dataPath(s), { highWaterMark: 1 << 20 })) h.update(data as Buffer);
      s.hash = h;
    }
    return s.hash;
  }
}

/** Streams a whole blob (monolithic upload) into `file`, returning its sha256 digest and size. */
export async function receiveBlob(body: Readable, file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(data: Buffer, _enc, cb) { hash.update(data); size += data.length; cb(null, data); },
  });
  await pipeline(body, tap, createWriteStream(file, { flags: 'wx', highWaterMark: 1 << 20 }));
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
