// ANSI SGR colour codes in log text → styled text segments. The page renders segments as text nodes with
// class names (or a colour value), never as HTML, so whatever a container prints stays text. Other escape
// sequences (cursor moves, titles) are dropped.

export interface Segment { text: string; cls: string; color?: string; bg?: string }

// CSI sequences, OSC sequences (ended by BEL or ST), and lone two-byte escapes
const ESC_RE = /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

export function hasEscapes(s: string): boolean { return s.includes('\x1b'); }

/** The text without escape sequences (for search and plain display). */
export function stripAnsi(s: string): string {
  return hasEscapes(s) ? s.replace(ESC_RE, '') : s;
}

const CUBE = [0, 95, 135, 175, 215, 255];
function color256(n: number): string | undefined {
  if (n < 16) return undefined;
  if (n < 232) { n -= 16; return `rgb(${CUBE[Math.floor(n / 36)]},${CUBE[Math.floor(n / 6) % 6]},${CUBE[n % 6]})`; }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

interface Pen { b: boolean; d: boolean; i: boolean; u: boolean; fg?: number; bg?: number; fgc?: string; bgc?: string }

function penClass(p: Pen): string {
  const c: string[] = [];
  if (p.b) c.push('a-b');
  if (p.d) c.push('a-d');
  if (p.i) c.push('a-i');
  if (p.u) c.push('a-u');
  if (p.fg !== undefined) c.push(`a-f${p.fg}`);
  if (p.bg !== undefined) c.push(`a-g${p.bg}`);
  return c.join(' ');
}

function applySgr(p: Pen, params: string): void {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((x) => (x === '' ? 0 : Number(x)));
  for (let k = 0; k < codes.length; k++) {
    const n = codes[k];
    if (n === 0) { p.b = p.d = p.i = p.u = false; p.fg = p.bg = undefined; p.fgc = p.bgc = undefined; }
    else if (n === 1) p.b = true;
    else if (n === 2) p.d = true;
    else if (n === 3) p.i = true;
    else if (n === 4) p.u = true;
    else if (n === 22) p.b = p.d = false;
    else if (n === 23) p.i = false;
    else if (n === 24) p.u = false;
    else if (n >= 30 && n <= 37) { p.fg = n - 30; p.fgc = undefined; }
    else if (n >= 90 && n <= 97) { p.fg = n - 90 + 8; p.fgc = undefined; }
    else if (n === 39) { p.fg = undefined; p.fgc = undefined; }
    else if (n >= 40 && n <= 47) { p.bg = n - 40; p.bgc = undefined; }
    else if (n >= 100 && n <= 107) { p.bg = n - 100; p.bgc = undefined; }
    else if (n === 49) { p.bg = undefined; p.bgc = undefined; }
    else if (n === 38 || n === 48) {
      let value: string | undefined;
      let idx: number | undefined;
      if (codes[k + 1] === 5) { const c = codes[k + 2] ?? 0; if (c < 16) idx = c; else value = color256(c); k += 2; }
      else if (codes[k + 1] === 2) { value = `rgb(${codes[k + 2] ?? 0},${codes[k + 3] ?? 0},${codes[k + 4] ?? 0})`; k += 4; }
      if (n === 38) { p.fg = idx; p.fgc = value; } else { p.bg = idx !== undefined && idx < 8 ? idx : undefined; p.bgc = value; }
    }
  }
}

/** Splits a line into styled segments. */
export function parseAnsi(line: string): Segment[] {
  if (!hasEscapes(line)) return [{ text: line, cls: '' }];
  const out: Segment[] = [];
  const pen: Pen = { b: false, d: false, i: false, u: false };
  let last = 0;
  const push = (text: string) => {
    if (text) out.push({ text, cls: penClass(pen), color: pen.fgc, bg: pen.bgc });
  };
  ESC_RE.lastIndex = 0;
  for (let m = ESC_RE.exec(line); m; m = ESC_RE.exec(line)) {
    push(line.slice(last, m.index));
    if (m[2] === 'm' && m[1] !== undefined) applySgr(pen, m[1]);
    last = m.index + m[0].length;
  }
  push(line.slice(last));
  return out;
}

/** Marks ranges [start, end) of the plain text across segments: each piece says whether it is inside a match. */
export function splitByRanges(segs: Segment[], ranges: Array<[number, number]>): Array<Segment & { mark: number }> {
  const out: Array<Segment & { mark: number }> = [];
  let pos = 0;
  let r = 0;
  for (const s of segs) {
    let i = 0;
    while (i < s.text.length) {
      const abs = pos + i;
      while (r < ranges.length && ranges[r][1] <= abs) r++;
      const inMatch = r < ranges.length && ranges[r][0] <= abs;
      const end = inMatch ? ranges[r][1] - pos : (r < ranges.length ? ranges[r][0] - pos : s.text.length);
      const stop = Math.min(s.text.length, Math.max(end, i + 1));
      out.push({ ...s, text: s.text.slice(i, stop), mark: inMatch ? r : -1 });
      i = stop;
    }
    pos += s.text.length;
  }
  return out;
}
