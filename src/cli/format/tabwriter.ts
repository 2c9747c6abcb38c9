// A port of Go's text/tabwriter (docker's fork, which measures cells with runewidth) for the one mode
// docker uses: left-aligned, padded with spaces, no flags. Cells are tab-terminated; a column block ends
// at the first line that does not reach that column (elastic tabstops), exactly like Go.

interface Cell { size: number; width: number; htab: boolean }

/** Printable ASCII only: one column per character (the common case, measured without walking the string). */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Display width of a string: East Asian wide/fullwidth characters count 2, combining marks 0. */
export function stringWidth(s: string): number {
  if (PRINTABLE_ASCII.test(s)) return s.length;
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x300) { w += c >= 0x20 && c !== 0x7f ? 1 : 0; continue; }
    if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || (c >= 0xfe00 && c <= 0xfe0f)) continue;
    w += isWide(c) ? 2 : 1;
  }
  return w;
}

function isWide(c: number): boolean {
  return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) || (c >= 0x3041 && c <= 0x33ff) ||
    (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
    (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd);
}

const SEPARATOR = /([\t\v\n\f])/;

export class TabWriter {
  private buf = '';
  private pos = 0;
  private cell: Cell = { size: 0, width: 0, htab: false };
  private lines: Cell[][] = [[]];
  private widths: number[] = [];
  private out: string[] = [];

  constructor(private minwidth: number, private padding: number) {}

  write(text: string): void {
    // split() with a capture group gives text, separator, text, …: the separators are found natively rather
    // than by a loop over every character (a CLI runs this once, before any JIT warms up)
    const parts = text.split(SEPARATOR);
    for (let k = 0; k < parts.length; k++) {
      const s = parts[k];
      if ((k & 1) === 0) { this.append(s); continue; }
      this.updateWidth();
      const ncells = this.terminateCell(s === '\t');
      if (s === '\n' || s === '\f') {
        this.lines.push([]);
        if (s === '\f' || ncells === 1) this.flushInternal();
      }
    }
  }

  /** Formats everything buffered and returns the output produced so far. */
  flush(): string {
    if (this.cell.size > 0) this.terminateCell(false);
    this.format(0, 0, this.lines.length);
    this.reset();
    const s = this.out.join('');
    this.out = [];
    return s;
  }

  private flushInternal(): void {
    if (this.cell.size > 0) this.terminateCell(false);
    this.format(0, 0, this.lines.length);
    this.reset();
  }

  private reset(): void {
    this.buf = '';
    this.pos = 0;
    this.cell = { size: 0, width: 0, htab: false };
    this.lines = [[]];
    this.widths = [];
  }

  private append(s: string): void {
    this.buf += s;
    this.cell.size += s.length;
  }

  private updateWidth(): void {
    this.cell.width += stringWidth(this.buf.slice(this.pos));
    this.pos = this.buf.length;
  }

  private terminateCell(htab: boolean): number {
    this.cell.htab = htab;
    const line = this.lines[this.lines.length - 1];
    line.push(this.cell);
    this.cell = { size: 0, width: 0, htab: false };
    return line.length;
  }

  private writePadding(textw: number, cellw: number): void {
    if (cellw > textw) this.out.push(' '.repeat(cellw - textw));
  }

  private writeLines(pos0: number, line0: number, line1: number): number {
    let pos = pos0;
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i];
      for (let j = 0; j < line.length; j++) {
        const c = line[j];
        if (c.size === 0) {
          if (j < this.widths.length) this.writePadding(c.width, this.widths[j]);
        } else {
          this.out.push(this.buf.slice(pos, pos + c.size));
          pos += c.size;
          if (j < this.widths.length) this.writePadding(c.width, this.widths[j]);
        }
      }
      if (i + 1 === this.lines.length) {
        this.out.push(this.buf.slice(pos, pos + this.cell.size));
        pos += this.cell.size;
      } else {
        this.out.push('\n');
      }
    }
    return pos;
  }

  private format(pos0: number, line0: number, line1: number): number {
    let pos = pos0;
    const column = this.widths.length;
    for (let t = line0; t < line1; t++) {
      let line = this.lines[t];
      if (column >= line.length - 1) continue;
      pos = this.writeLines(pos, line0, t);
      line0 = t;
      let width = this.minwidth;
      for (; t < line1; t++) {
        line = this.lines[t];
        if (column >= line.length - 1) break;
        const c = line[column];
        const w = c.width + this.padding;
        if (w > width) width = w;
      }
      this.widths.push(width);
      pos = this.format(pos, line0, t);
      this.widths.pop();
      line0 = t;
    }
    return this.writeLines(pos, line0, line1);
  }
}

/** Convenience: tabwriter.NewWriter(out, minwidth, 1, padding, ' ', 0) over a complete text. */
export function tabulate(text: string, minwidth: number, padding: number): string {
  const tw = new TabWriter(minwidth, padding);
  tw.write(text);
  return tw.flush();
}
