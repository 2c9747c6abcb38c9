// A synchronous, incremental tar parser: push() it chunks of any size and it calls its sink for every entry and
// for each piece of file content, without copying content (the sink gets views of the pushed chunks). It reads
// what Go's archive/tar reads for docker (docker being the reference for what a layer means): V7, USTAR (with
// prefix, also star's), GNU (long names/links, base-256 numbers) and PAX ('x' records: path, linkpath, size,
// uid, gid, mtime, SCHILY.xattr.*; 'g' global records are skipped, as docker does). Values are kept as bytes,
// so binary xattrs (security.capability) survive. Like Go: header-only types (links, devices, dirs, fifos)
// have no body whatever their size field says; one zero block then the end of the data is a clean end; a zero
// block followed by anything but another is an error; what follows the end-of-archive marker is ignored.
import { EngineError } from '../common/errors';

export type EntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: EntryType;
  /** Permission bits incl. setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of content that follow (0 unless type is 'file'). */
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** From PAX SCHILY.xattr.<name> records, in archive order; values as raw bytes. */
  xattrs: Array<[string, Buffer]>;
}

export interface TarSink {
  entry(h: TarHeader): void;
  /** A piece of the current file's content (a view into the pushed chunk: use it before returning). */
  data(piece: Buffer): void;
  /** After the last content byte of the current entry (called for every entry, content or not). */
  entryEnd(): void;
}

/** The archive's fault: becomes a 400. */
export class TarFormatError extends EngineError {
  constructor(message: string) {
    super(400, `invalid tar archive: ${message}`);
  }
}

const BLOCK = 512;
/** Go's limit for PAX and GNU long-name bodies. */
const MAX_META = 1 << 20;
const XATTR_PREFIX = 'SCHILY.xattr.';

const enum State { Header, Body, Padding, Meta, Skip, Done }

type MetaKind = 'pax' | 'longname' | 'longlink';

export class TarReader {
  private state = State.Header;
  /** Partial header (or meta body) carried over chunk boundaries. */
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  private remaining = 0;
  private padding = 0;
  private zeroBlocks = 0;
  private meta: { kind: MetaKind | 'global'; buf: Buffer; fill: number } | undefined;
  private pax: Map<string, Buffer> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;

  constructor(private readonly sink: TarSink) {}

  /** True once the end-of-archive marker was read; later bytes are ignored. */
  get done(): boolean {
    return this.state === State.Done;
  }

  push(chunk: Buffer): void {
    let off = 0;
    const len = chunk.length;
    while (off < len && this.state !== State.Done) {
      switch (this.state) {
        case State.Header: {
          let header: Buffer;
          if (this.blockFill === 0 && len - off >= BLOCK) {
            header = chunk.subarray(off, off + BLOCK);
            off += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.blockFill, len - off);
            chunk.copy(this.block, this.blockFill, off, off + n);
            this.blockFill += n;
            off += n;
            if (this.blockFill < BLOCK) break;
            this.blockFill = 0;
            header = this.block;
          }
          this.header(header);
          break;
        }
        case State.Body: {
          const n = Math.min(this.remaining, len - off);
          this.sink.data(chunk.subarray(off, off + n));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endBody();
          break;
        }
        case State.Meta: {
          const m = this.meta!;
          const n = Math.min(this.remaining, len - off);
          chunk.copy(m.buf, m.fill, off, off + n);
          m.fill += n;
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.applyMeta();
            this.state = this.padding > 0 ? State.Padding : State.Header;
          }
          break;
        }
        case State.Padding:
        case State.Skip: {
          const n = Math.min(this.state === State.Skip ? this.remaining : this.padding, len - off);
          off += n;
          if (this.state === State.Skip) {
            this.remaining -= n;
            if (this.remaining === 0) this.state = this.padding > 0 ? State.Padding : State.Header;
          } else {
            this.padding -= n;
            if (this.padding === 0) this.state = State.Header;
          }
          break;
        }
      }
    }
  }

  /** The data ended: fine at an entry boundary (with or without the end-of-archive marker), else truncated. */
  end(): void {
    if (this.state === State.Done) return;
    if (this.state === State.Header && this.blockFill === 0 && this.meta === undefined && !this.pendingMeta()) return;
    throw new TarFormatError('Unexpected end of data');
  }

  private pendingMeta(): boolean {
    return this.pax !== undefined || this.longName !== undefined || this.longLink !== undefined;
  }

  private endBody(): void {
    this.sink.entryEnd();
    this.state = this.padding > 0 ? State.Padding : State.Header;
  }

  private header(b: Buffer): void {
    if (isZero(b)) {
      if (this.pendingMeta()) throw new TarFormatError('metadata header without an entry');
      if (++this.zeroBlocks === 2) this.state = State.Done;
      return;
    }
    if (this.zeroBlocks > 0) throw new TarFormatError('zero block followed by data');
    verifyChecksum(b);

    const typeflag = b[156];
    let size = parseNumeric(b, 124, 12, 'size');
    const format = formatOf(b);

    switch (typeflag) {
      case 0x78: /* x */ case 0x67: /* g */ case 0x4c: /* L */ case 0x4b: /* K */ {
        if (size > MAX_META) throw new TarFormatError(`metadata entry of ${size} bytes is too large`);
        const kind = typeflag === 0x78 ? 'pax' : typeflag === 0x67 ? 'global' : typeflag === 0x4c ? 'longname' : 'longlink';
        if (kind === 'global') this.dropMeta(); // Go returns the global header as an entry: pending records end there
        this.meta = { kind, buf: Buffer.allocUnsafe(size), fill: 0 };
        this.remaining = size;
        this.padding = pad(size);
        if (size === 0) this.applyMeta();
        this.state = size > 0 ? State.Meta : State.Header;
        return;
      }
    }

    let name = cString(b, 0, 100);
    if (format === 'ustar' || format === 'star') {
      const prefix = cString(b, 345, format === 'star' ? 131 : 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    let linkname = cString(b, 157, 100);
    let uid = parseNumeric(b, 108, 8, 'uid');
    let gid = parseNumeric(b, 116, 8, 'gid');
    let mtimeSec = parseNumeric(b, 136, 12, 'mtime');
    let mtimeNsec = 0;
    const xattrs: Array<[string, Buffer]> = [];

    const pax = this.pax;
    if (pax) {
      for (const [key, value] of pax) {
        switch (key) {
          case 'path': name = value.toString('utf8'); break;
          case 'linkpath': linkname = value.toString('utf8'); break;
          case 'size': size = paxInt(key, value); break;
          case 'uid': uid = paxInt(key, value); break;
          case 'gid': gid = paxInt(key, value); break;
          case 'mtime': [mtimeSec, mtimeNsec] = paxTime(value); break;
          default:
            if (key.startsWith(XATTR_PREFIX)) xattrs.push([key.slice(XATTR_PREFIX.length), value]);
            else if (key.startsWith('GNU.sparse.')) throw new TarFormatError(`${JSON.stringify(name)}: sparse files are not supported`);
        }
      }
    }
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    this.pax = this.longName = this.longLink = undefined;

    let type: EntryType;
    switch (typeflag) {
      case 0: case 0x30: case 0x37: type = name.endsWith('/') ? 'directory' : 'file'; break;
      case 0x31: type = 'link'; break;
      case 0x32: type = 'symlink'; break;
      case 0x33: type = 'character-device'; break;
      case 0x34: type = 'block-device'; break;
      case 0x35: type = 'directory'; break;
      case 0x36: type = 'fifo'; break;
      default:
        throw new EngineError(400, `invalid tar entry ${JSON.stringify(name)}: unsupported entry type ${JSON.stringify(String.fromCharCode(typeflag))}`);
    }
    // Go: header-only types have no body; a directory spelled as a file (old tars) still skips its size.
    const bodyOnly = typeflag === 0 || typeflag === 0x30 || typeflag === 0x37;
    const body = bodyOnly ? size : 0;
    const h: TarHeader = {
      name, type, mode: parseNumeric(b, 100, 8, 'mode') & 0o7777, uid, gid, size: type === 'file' ? body : 0,
      mtimeSec, mtimeNsec, linkname,
      devmajor: type === 'character-device' || type === 'block-device' ? parseNumeric(b, 329, 8, 'devmajor') : 0,
      devminor: type === 'character-device' || type === 'block-device' ? parseNumeric(b, 337, 8, 'devminor') : 0,
      xattrs,
    };
    this.sink.entry(h);
    this.padding = pad(body);
    if (type === 'file') {
      this.remaining = body;
      if (body === 0) this.endBody();
      else this.state = State.Body;
    } else {
      this.sink.entryEnd();
      this.remaining = body;
      this.state = body > 0 ? State.Skip : State.Header;
    }
  }

  private dropMeta(): void {
    this.pax = this.longName = this.longLink = undefined;
  }

  private applyMeta(): void {
    const m = this.meta!;
    this.meta = undefined;
    switch (m.kind) {
      case 'pax': this.pax = parsePax(m.buf); break;
      case 'longname': this.longName = cString(m.buf, 0, m.buf.length); break;
      case 'longlink': this.longLink = cString(m.buf, 0, m.buf.length); break;
      case 'global': break;
    }
  }
}

const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

function isZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i += 4) if (b.readUInt32LE(i) !== 0) return false;
  return true;
}

/** Go accepts the unsigned or the signed sum (some old tars), with the checksum field counted as spaces. */
function verifyChecksum(b: Buffer): void {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  let stored: number;
  try {
    stored = parseNumeric(b, 148, 8, 'checksum');
  } catch {
    throw new TarFormatError('invalid tar header (bad checksum field)');
  }
  if (stored !== unsigned && stored !== signed) throw new TarFormatError('invalid tar header (checksum mismatch)');
}

function formatOf(b: Buffer): 'v7' | 'ustar' | 'star' | 'gnu' {
  const magic = b.toString('latin1', 257, 263);
  if (magic === 'ustar\0') return b.toString('latin1', 508, 512) === 'tar\0' ? 'star' : 'ustar';
  if (magic === 'ustar ' && b[263] === 0x20 && b[264] === 0) return 'gnu';
  return 'v7';
}

/** Bytes up to the first NUL, as UTF-8. */
function cString(b: Buffer, off: number, len: number): string {
  let end = off;
  const stop = off + len;
  while (end < stop && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** Octal (NUL/space padded) or GNU base-256 (high bit set). */
function parseNumeric(b: Buffer, off: number, len: number, field: string): number {
  if (b[off] & 0x80) {
    if (b[off] === 0xff) throw new TarFormatError(`negative ${field}`);
    let v = b[off] & 0x7f;
    for (let i = off + 1; i < off + len; i++) {
      v = v * 256 + b[i];
      if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field} out of range`);
    }
    return v;
  }
  let start = off;
  let end = off + len;
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 7) throw new TarFormatError(`invalid octal ${field} in header`);
    v = v * 8 + d;
  }
  return v;
}

function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0 || sp - off > 20) throw new TarFormatError('invalid PAX record');
    const digits = buf.toString('latin1', off, sp);
    if (!/^[1-9][0-9]*$/.test(digits)) throw new TarFormatError('invalid PAX record length');
    const recLen = Number(digits);
    const recEnd = off + recLen;
    if (recEnd > buf.length || recLen <= sp - off + 1 || buf[recEnd - 1] !== 0x0a) throw new TarFormatError('invalid PAX record');
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= recEnd - 1) throw new TarFormatError('invalid PAX record');
    const key = buf.toString('utf8', sp + 1, eq);
    out.set(key, Buffer.from(buf.subarray(eq + 1, recEnd - 1)));
    off = recEnd;
  }
  return out;
}

function paxInt(key: string, v: Buffer): number {
  const s = v.toString('latin1');
  if (!/^[0-9]+$/.test(s) || s.length > 15) throw new TarFormatError(`invalid PAX ${key} ${JSON.stringify(s)}`);
  return Number(s);
}

/** "sec[.frac]", possibly negative, to seconds and nanoseconds (floored, as Go does). */
function paxTime(v: Buffer): [number, number] {
  const s = v.toString('latin1');
  const m = /^(-?)([0-9]{1,15})(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw new TarFormatError(`invalid PAX mtime ${JSON.stringify(s)}`);
  const frac = Number(((m[3] ?? '') + '000000000').slice(0, 9));
  let sec = Number(m[2]);
  let nsec = frac;
  if (m[1] === '-') {
    sec = -sec;
    if (nsec > 0) { sec -= 1; nsec = 1e9 - nsec; }
  }
  return [sec, nsec];
}
