// Tar headers as Go's archive/tar writes them: USTAR when a header fits, PAX records for what does not
// (long or non-ASCII names, large ids and sizes, xattrs). Used to write archives (docker save, layer tars)
// without a tar library in the data path: the caller streams file contents itself, so the bytes of a big
// blob go from the file to the socket untouched.

export const BLOCK = 512;

export type TarType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

const TYPEFLAG: Record<TarType, string> = {
  file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6',
};

export interface TarHeader {
  name: string;
  type: TarType;
  /** Permission and setuid/setgid/sticky bits. */
  mode: number;
  uid?: number;
  gid?: number;
  /** Bytes of content that follow (regular files only). */
  size?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (e.g. SCHILY.xattr.security.capability); values may be binary. */
  pax?: Record<string, string | Buffer>;
}

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s);

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = (): Buffer => Buffer.alloc(2 * BLOCK);

/**
 * The header block(s) for one entry: a PAX extended header first when needed, then the USTAR header.
 * Content (h.size bytes) and its padding() are the caller's.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: Record<string, string | Buffer> = { ...(h.pax ?? {}) };
  const size = h.type === 'file' ? h.size ?? 0 : 0;
  const uid = h.uid ?? 0;
  const gid = h.gid ?? 0;
  const mtime = Math.floor(h.mtime ?? 0);

  let name = h.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) {
    const split = isAscii(name) ? splitUstarName(name) : undefined;
    if (split) [prefix, name] = split;
    else { pax.path = h.name; name = asciiFallback(h.name, 100); }
  }
  let linkname = h.linkname ?? '';
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) { pax.linkpath = linkname; linkname = asciiFallback(linkname, 100); }
  if (uid > MAX_OCTAL_7 || uid < 0) pax.uid = String(uid);
  if (gid > MAX_OCTAL_7 || gid < 0) pax.gid = String(gid);
  if (size > MAX_OCTAL_11) pax.size = String(size);
  if (mtime > MAX_OCTAL_11 || mtime < 0) pax.mtime = String(mtime);

  const main = ustar({
    name, prefix, linkname, mode: h.mode, uid: clamp(uid, MAX_OCTAL_7), gid: clamp(gid, MAX_OCTAL_7),
    size: clamp(size, MAX_OCTAL_11), mtime: clamp(mtime, MAX_OCTAL_11), typeflag: TYPEFLAG[h.type],
    devmajor: h.devmajor ?? 0, devminor: h.devminor ?? 0,
  });
  if (Object.keys(pax).length === 0) return main;
  const records = paxRecords(pax);
  const paxHeader = ustar({
    name: paxName(h.name), prefix: '', linkname: '', mode: 0o644, uid: 0, gid: 0, size: records.length,
    mtime: 0, typeflag: 'x', devmajor: 0, devminor: 0,
  });
  return Buffer.concat([paxHeader, records, padding(records.length), main]);
}

const clamp = (n: number, max: number) => (n < 0 ? 0 : n > max ? max : n);

/** "%d key=value\n" where %d counts the whole record, itself included. */
function paxRecords(pax: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const key of Object.keys(pax).sort()) {
    const value = pax[key];
    const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.isBuffer(value) ? value : Buffer.from(value), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.from(String(len)), body);
  }
  return Buffer.concat(parts);
}

/** Go's rule for the PAX header's own name: dir/PaxHeaders.0/base, cut to fit. */
function paxName(name: string): string {
  const trimmed = name.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  const dir = slash >= 0 ? trimmed.slice(0, slash) : '.';
  const base = slash >= 0 ? trimmed.slice(slash + 1) : trimmed;
  return asciiFallback(`${dir}/PaxHeaders.0/${base}`, 100);
}

/** What an old reader sees in the USTAR field when PAX carries the real value. */
function asciiFallback(s: string, max: number): string {
  let out = s.replace(/[^\x20-\x7e]/g, '_');
  while (Buffer.byteLength(out) > max) out = out.slice(0, -1);
  return out;
}

/** Splits a long name into USTAR's prefix (≤155) and name (≤100) at a slash, if possible. */
function splitUstarName(name: string): [string, string] | undefined {
  if (name.length > 256) return undefined;
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length > 0 && rest.length <= 100) return [prefix, rest];
  }
  return undefined;
}

interface Fields {
  name: string; prefix: string; linkname: string; mode: number; uid: number; gid: number; size: number;
  mtime: number; typeflag: string; devmajor: number; devminor: number;
}

function ustar(f: Fields): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(f.name, 0, 100, 'utf8');
  octal(b, 100, 8, f.mode & 0o7777);
  octal(b, 108, 8, f.uid);
  octal(b, 116, 8, f.gid);
  octal(b, 124, 12, f.size);
  octal(b, 136, 12, f.mtime);
  b.write('        ', 148, 8, 'ascii'); // checksum placeholder
  b.write(f.typeflag, 156, 1, 'ascii');
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  if (f.typeflag === '3' || f.typeflag === '4') {
    octal(b, 329, 8, f.devmajor);
    octal(b, 337, 8, f.devminor);
  }
  b.write(f.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'latin1');
  return b;
}

/** A NUL-terminated, zero-padded octal field. */
function octal(b: Buffer, off: number, len: number, n: number): void {
  b.write(Math.floor(n).toString(8).padStart(len - 1, '0') + '\u0000', off, len, 'latin1');
}
