// A SPDY/3.1 server session: the framing the Kubernetes streaming protocols (exec, attach, port-forward) run on
// once an HTTP request was upgraded ("Upgrade: SPDY/3.1"). The client opens the streams (SYN_STREAM with a
// header block naming its purpose); the server accepts each with a SYN_REPLY and both sides send DATA frames,
// FIN closing a direction. Header blocks are zlib-compressed with the SPDY/3 dictionary, one compression context
// per direction for the whole session. Flow control is not enforced by the Go client (moby/spdystream) and is not
// by this server either; SETTINGS and WINDOW_UPDATE are read and ignored, PING is answered.
import { EventEmitter } from 'events';
import type { Duplex } from 'stream';
import * as zlib from 'zlib';

const VERSION = 3;
const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
const FLAG_FIN = 0x01;
const MAX_DATA = 64 * 1024;
const MAX_FRAME = 16 * 1024 * 1024;

/** The SPDY/3 header compression dictionary: length-prefixed common header names and values, then a tail. */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const words = [
    'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
    'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
    'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
    'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
    'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
    'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
    'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
  ];
  const tail = '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505'
    + '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden'
    + '404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable'
    + 'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT'
    + 'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,'
    + 'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  const parts: Buffer[] = [];
  for (const w of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(tail, 'latin1'));
  return Buffer.concat(parts);
})();

/** One zlib context fed block by block, each block flushed with Z_SYNC_FLUSH; calls run one after another. */
class ZContext {
  private queue: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  constructor(private readonly z: zlib.Inflate | zlib.Deflate) {
    z.on('data', (d: Buffer) => this.out.push(d));
    z.on('error', () => { /* reported through the pending call */ });
  }
  run(input: Buffer): Promise<Buffer> {
    const next = this.queue.then(() => new Promise<Buffer>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.z.once('error', onError);
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('error', onError);
        const data = Buffer.concat(this.out);
        this.out = [];
        resolve(data);
      });
    }));
    this.queue = next.catch(() => undefined);
    return next;
  }
  close(): void { this.z.destroy(); }
}

function encodeHeaders(headers: Record<string, string>): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [k, v] of entries) {
    const name = Buffer.from(k.toLowerCase(), 'utf8');
    const value = Buffer.from(v, 'utf8');
    parts.push(u32(name.length), name, u32(value.length), value);
  }
  return Buffer.concat(parts);
}

function decodeHeaders(block: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  const need = (n: number) => { if (off + n > block.length) throw new Error('truncated SPDY header block'); };
  need(4);
  const count = block.readUInt32BE(off); off += 4;
  for (let i = 0; i < count; i++) {
    need(4); const nl = block.readUInt32BE(off); off += 4;
    need(nl); const name = block.toString('utf8', off, off + nl).toLowerCase(); off += nl;
    need(4); const vl = block.readUInt32BE(off); off += 4;
    need(vl); const value = block.toString('utf8', off, off + vl); off += vl;
    out[name] = value.split('\0')[0];
  }
  return out;
}

function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; }

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(payload.length, 4);
  h[4] = flags;
  return Buffer.concat([h, payload]);
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(data.length, 4);
  h[4] = flags;
  return Buffer.concat([h, data]);
}

/** One stream of a session. Events: 'data' (Buffer), 'end' (the peer's FIN), 'close' (both sides done, or reset). */
export class SpdyStream extends EventEmitter {
  localClosed = false;
  remoteClosed = false;
  reset = false;
  constructor(readonly id: number, readonly headers: Record<string, string>, private readonly session: SpdySession) { super(); }

  write(data: Buffer | string): void {
    if (this.localClosed || this.reset) return;
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length; off += MAX_DATA) this.session.send(dataFrame(this.id, 0, buf.subarray(off, off + MAX_DATA)));
  }

  /** Our side is done (DATA frame with FIN). */
  end(data?: Buffer | string): void {
    if (data !== undefined) this.write(data);
    if (this.localClosed || this.reset) return;
    this.localClosed = true;
    this.session.send(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.maybeClose();
  }

  /** What the peer sent before anyone consumed the stream (the client writes as soon as the stream exists). */
  private pending: Buffer[] | undefined = [];
  private pendingEnd = false;

  /** Delivers what arrived so far, then everything as it arrives; `onEnd` at the peer's FIN. */
  consume(onData: (d: Buffer) => void, onEnd: () => void): void {
    const queued = this.pending ?? [];
    this.pending = undefined;
    for (const d of queued) onData(d);
    this.on('data', onData);
    this.on('end', onEnd);
    if (this.pendingEnd) onEnd();
  }

  onRemoteData(data: Buffer, fin: boolean): void {
    if (data.length) {
      if (this.pending) this.pending.push(data); else this.emit('data', data);
    }
    if (fin && !this.remoteClosed) {
      this.remoteClosed = true;
      if (this.pending) this.pendingEnd = true; else this.emit('end');
      this.maybeClose();
    }
  }

  onReset(): void {
    if (this.reset) return;
    this.reset = true;
    this.remoteClosed = true;
    this.localClosed = true;
    this.emit('end');
    this.emit('close');
  }

  private maybeClose(): void {
    if (this.localClosed && this.remoteClosed) this.emit('close');
  }
}

/**
 * The server side of a SPDY session on an upgraded connection. 'stream' is emitted for each stream the client
 * opens, after it was accepted; 'close' when the connection ends.
 */
export class SpdySession extends EventEmitter {
  readonly streams = new Map<number, SpdyStream>();
  private buf: Buffer = Buffer.alloc(0);
  private readonly inflate = new ZContext(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  private readonly deflate = new ZContext(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY, level: 6 }));
  /** frames go out in order, behind any header block still being compressed */
  private out: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly socket: Duplex, head?: Buffer) {
    super();
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('end', () => this.destroy());
    if (head?.length) this.onData(head);
  }

  send(frame: Buffer): void {
    this.out = this.out.then(() => { if (!this.closed) this.socket.write(frame); });
  }

  /** Ends the session: GOAWAY, then the connection (after what is queued went out). */
  close(): void {
    if (this.closed) return;
    this.send(controlFrame(TYPE.GOAWAY, 0, Buffer.concat([u32(0), u32(0)])));
    this.out = this.out.then(() => { this.socket.end(); });
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.onReset();
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.socket.destroy();
    this.emit('close');
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (len > MAX_FRAME) { this.destroy(); return; }
      if (this.buf.length < 8 + len) break;
      const frame = this.buf.subarray(0, 8 + len);
      this.buf = this.buf.subarray(8 + len);
      try {
        this.onFrame(frame);
      } catch {
        this.destroy();
        return;
      }
    }
  }

  private onFrame(f: Buffer): void {
    const flags = f[4];
    const payload = f.subarray(8);
    if (!(f[0] & 0x80)) {
      const id = f.readUInt32BE(0) & 0x7fffffff;
      // frames are handled in arrival order: data for a stream whose SYN is still being decoded waits for it
      this.out = this.out.then(() => this.streams.get(id)?.onRemoteData(Buffer.from(payload), (flags & FLAG_FIN) !== 0));
      return;
    }
    const type = f.readUInt16BE(2);
    switch (type) {
      case TYPE.SYN_STREAM: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const block = Buffer.from(payload.subarray(10));
        const decoded = this.inflate.run(block);
        this.out = this.out.then(async () => {
          const headers = decodeHeaders(await decoded);
          const stream = new SpdyStream(id, headers, this);
          this.streams.set(id, stream);
          stream.on('close', () => this.streams.delete(id));
          const reply = await this.deflate.run(encodeHeaders({}));
          if (!this.closed) this.socket.write(controlFrame(TYPE.SYN_REPLY, 0, Buffer.concat([u32(id), reply])));
          if (flags & FLAG_FIN) stream.onRemoteData(Buffer.alloc(0), true);
          this.emit('stream', stream);
        }).catch(() => this.destroy());
        break;
      }
      case TYPE.RST_STREAM: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        this.out = this.out.then(() => this.streams.get(id)?.onReset());
        break;
      }
      case TYPE.HEADERS: {
        // keeps the decompression context in step; the headers themselves carry nothing we use
        void this.inflate.run(Buffer.from(payload.subarray(4))).catch(() => this.destroy());
        break;
      }
      case TYPE.PING:
        this.send(controlFrame(TYPE.PING, 0, Buffer.from(payload)));
        break;
      case TYPE.GOAWAY:
        this.close();
        break;
      default: // SETTINGS, WINDOW_UPDATE, SYN_REPLY (never sent to a server)
        break;
    }
  }
}
