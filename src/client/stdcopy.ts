// The stdcopy framing of non-TTY attach/logs/exec streams: an 8-byte header [stream, 0, 0, 0, size (uint32
// big-endian)] before each payload. Stream 0 (stdin) is written to stdout like moby's StdCopy, 1 stdout,
// 2 stderr, 3 is an error from the daemon that ends the stream.

export const enum StdType { Stdin = 0, Stdout = 1, Stderr = 2, Systemerr = 3 }

export class StdcopyDemuxer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private onStdout: (data: Buffer) => void,
    private onStderr: (data: Buffer) => void,
  ) {}

  /** Feeds received bytes; complete frames are dispatched. Throws on a bad header or a system error frame. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    while (this.buf.length - off >= 8) {
      const type = this.buf[off];
      const size = this.buf.readUInt32BE(off + 4);
      if (type > 3) {
        this.buf = Buffer.alloc(0);
        throw new Error(`Unrecognized input header: ${type}`);
      }
      if (this.buf.length - off - 8 < size) break;
      const payload = this.buf.subarray(off + 8, off + 8 + size);
      off += 8 + size;
      if (type === StdType.Systemerr) {
        this.buf = Buffer.alloc(0);
        throw new Error(`error from daemon in stream: ${payload.toString('utf8')}`);
      }
      if (size > 0) (type === StdType.Stderr ? this.onStderr : this.onStdout)(payload);
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }

  /** Bytes of an incomplete frame left at end of stream (moby drops them silently). */
  get pending(): number { return this.buf.length; }
}

/** Builds one frame (used by tests and tools). */
export function stdcopyFrame(type: StdType, payload: Buffer | string): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(p.length, 4);
  return Buffer.concat([h, p]);
}
