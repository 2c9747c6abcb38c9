// Streams of concatenated JSON values (pull/import/build progress, events): values may be separated by
// "\n", "\r\n" or nothing and may be split across chunks, like Go's json.Decoder reads them.

export class JsonStreamParser {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escape = false;
  private start = -1;
  private scanned = 0;
  private decoder = new TextDecoder('utf-8');

  constructor(private onValue: (v: unknown) => void) {}

  push(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    let i = this.scanned;
    for (; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === '\\') this.escape = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (this.start < 0) {
        if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
        this.start = i;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          const text = this.buf.slice(this.start, i + 1);
          this.start = -1;
          this.onValue(JSON.parse(text));
        }
      }
    }
    if (this.start < 0) {
      this.buf = '';
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.scanned = this.buf.length;
      this.start = 0;
    }
  }

  /** Throws if the stream ended in the middle of a value. */
  end(): void {
    if (this.start >= 0 && this.buf.trim() !== '') throw new Error('unexpected EOF');
  }
}

/** Reads a whole stream of JSON values, calling `onValue` for each. */
export function readJsonStream(stream: NodeJS.ReadableStream, onValue: (v: unknown) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = new JsonStreamParser(onValue);
    stream.on('data', (c: Buffer) => {
      try { p.push(c); } catch (err) { reject(err); (stream as { destroy?: () => void }).destroy?.(); }
    });
    stream.on('end', () => { try { p.end(); resolve(); } catch (err) { reject(err); } });
    stream.on('error', reject);
  });
}
