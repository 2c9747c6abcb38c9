// The docker CLI's legacy builder sends a context whose last entry (the .dockerignore it rewrites when -f names
// a Dockerfile outside the context) ends right after its data: no padding to the 512-byte block, no end-of-archive
// blocks. dockerd accepts it because Go's archive/tar treats an end of input at an entry boundary as the end of
// the archive. completeTarEnd() gives berth's reader the same tolerance without accepting anything truncated: it
// walks the headers as the bytes pass, and only when the input stops exactly after a whole entry (or inside its
// padding) does it add the missing padding and the two zero blocks. A stream cut inside a header or inside an
// entry's data is passed on as it is, so the reader still reports it ("unexpected EOF").

const BLOCK = 512;

/** The size field of a tar header: octal text, or base-256 when the high bit of its first byte is set. */
function entrySize(header: Buffer): number {
  const field = header.subarray(124, 136);
  if (field[0] & 0x80) {
    let n = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i];
    return n;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) || 0 : 0;
}

export async function* completeTarEnd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let header = Buffer.alloc(0); // bytes of a header block being read
  let skip = 0; // data bytes of the current entry still to pass
  let pad = 0; // padding bytes after them
  let ended = false; // two zero blocks seen (or one, then the stream ends: Go stops at the first)
  for await (const chunk of source) {
    yield chunk;
    if (ended) continue;
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (buf.length) {
      if (skip) { const n = Math.min(skip, buf.length); skip -= n; buf = buf.subarray(n); continue; }
      if (pad) { const n = Math.min(pad, buf.length); pad -= n; buf = buf.subarray(n); continue; }
      const n = Math.min(BLOCK - header.length, buf.length);
      header = Buffer.concat([header, buf.subarray(0, n)]);
      buf = buf.subarray(n);
      if (header.length < BLOCK) break;
      if (header.every((b) => b === 0)) { ended = true; break; }
      const size = entrySize(header);
      skip = size;
      pad = (BLOCK - (size % BLOCK)) % BLOCK;
      header = Buffer.alloc(0);
    }
  }
  // cut inside a header or inside data: leave it to the reader to refuse
  if (ended || header.length || skip) return;
  yield Buffer.alloc(pad + 2 * BLOCK);
}
