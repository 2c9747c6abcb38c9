// The log view: a virtualised list (only the rows on screen exist in the DOM, so 100k+ lines scroll and
// search smoothly), following the end until the user scrolls up (pause-on-scroll), search with highlighted
// matches and next/previous, a timestamps toggle, download, and ANSI colours rendered as styled text nodes.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call, readLines } from '../api';
import { parseAnsi, splitByRanges, stripAnsi, hasEscapes } from '../ansi';

export const ROW = 18;
const MAX_LINES = 250_000;
const OVERSCAN = 15;

/** The lines of one log, in columns (text with escapes, plain text, timestamp, stderr flag). */
export class LogBuffer {
  text: string[] = [];
  plain: string[] = [];
  ts: string[] = [];
  err: boolean[] = [];
  private lower: string[] = [];
  /** Lines dropped from the front (to keep at most MAX_LINES). */
  dropped = 0;

  get length(): number { return this.text.length; }

  /** A line as the server sends it: stream digit, RFC 3339 timestamp, space, text. */
  pushWire(line: string): void {
    const sp = line.indexOf(' ');
    const ts = sp > 0 ? line.slice(1, sp) : '';
    const text = sp > 0 ? line.slice(sp + 1) : line.slice(1);
    this.text.push(text);
    this.plain.push(hasEscapes(text) ? stripAnsi(text) : text);
    this.ts.push(ts);
    this.err.push(line[0] === '2');
  }

  trim(): number {
    const over = this.text.length - MAX_LINES;
    if (over <= 0) return 0;
    for (const a of [this.text, this.plain, this.ts, this.err] as unknown[][]) a.splice(0, over);
    this.lower.splice(0, Math.min(over, this.lower.length));
    this.dropped += over;
    return over;
  }

  lowerAt(i: number): string {
    while (this.lower.length <= i) this.lower.push(this.plain[this.lower.length].toLowerCase());
    return this.lower[i];
  }

  /** Indices of lines containing `q` (case-insensitive), from line `from`. */
  find(q: string, from = 0, out: number[] = []): number[] {
    const needle = q.toLowerCase();
    for (let i = from; i < this.text.length; i++) if (this.lowerAt(i).includes(needle)) out.push(i);
    return out;
  }

  lastTimestamp(): string | undefined { return this.ts[this.ts.length - 1]; }
}

function rangesOf(lower: string, needle: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  if (!needle) return out;
  for (let i = lower.indexOf(needle); i >= 0; i = lower.indexOf(needle, i + needle.length)) out.push([i, i + needle.length]);
  return out;
}

const shortTs = (ts: string) => ts.replace('T', ' ').replace(/(\.\d{3})\d*/, '$1').replace(/Z$/, '');

/** RFC 3339 with nanoseconds → docker's "seconds.nanoseconds" for ?since=. */
function sinceParam(ts: string | undefined): string | undefined {
  if (!ts) return undefined;
  const ms = Date.parse(ts);
  if (!Number.isFinite(ms)) return undefined;
  const frac = /\.(\d+)/.exec(ts)?.[1] ?? '0';
  return `${Math.floor(ms / 1000)}.${frac.padEnd(9, '0').slice(0, 9)}`;
}

function LogRow(p: { buf: LogBuffer; i: number; showTs: boolean; needle: string; current: boolean }) {
  const { buf, i } = p;
  const text = buf.text[i];
  const segs = parseAnsi(text);
  const ranges = p.needle ? rangesOf(buf.lowerAt(i), p.needle) : [];
  const pieces = ranges.length ? splitByRanges(segs, ranges) : segs.map((s) => ({ ...s, mark: -1 }));
  return (
    <div class={`logline${buf.err[i] ? ' stderr' : ''}${p.current ? ' cur' : ''}`} data-line={i + buf.dropped}>
      {p.showTs && <span class="ts">{shortTs(buf.ts[i])}</span>}
      {pieces.map((s) => {
        const style = s.color || s.bg ? { color: s.color, background: s.bg } : undefined;
        const inner = s.cls || style ? <span class={s.cls} style={style}>{s.text}</span> : s.text;
        return s.mark >= 0 ? <mark class={p.current && s.mark === 0 ? 'here' : ''}>{inner}</mark> : inner;
      })}
    </div>
  );
}

export function LogView(p: { id: string; name: string; running: boolean }) {
  const buf = useMemo(() => new LogBuffer(), [p.id]);
  const box = useRef<HTMLDivElement>(null);
  const [, setVersion] = useState(0);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const [follow, setFollow] = useState(true);
  const followRef = useRef(true);
  const [newLines, setNewLines] = useState(0);
  const [showTs, setShowTs] = useState(false);
  const [tail, setTail] = useState('100000');
  const [query, setQuery] = useState('');
  const [needle, setNeedle] = useState('');
  const [matches, setMatches] = useState<number[]>([]);
  const [cur, setCur] = useState(-1);
  const [error, setError] = useState<string>();
  const [streaming, setStreaming] = useState(false);
  const frame = useRef(0);
  const searched = useRef({ needle: '', upTo: 0 });

  // render at most once per frame however fast lines arrive
  const schedule = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => { frame.current = 0; setVersion((v) => v + 1); });
  };

  useEffect(() => {
    const ctl = new AbortController();
    let since: string | undefined;
    const start = async (first: boolean) => {
      setStreaming(true);
      try {
        const qs = new URLSearchParams({ follow: '1', tail: first ? tail : 'all' });
        if (!first && since) qs.set('since', since);
        const res = await call(`/api/logs/${encodeURIComponent(p.id)}?${qs}`, { signal: ctl.signal });
        await readLines(res, (lines) => {
          for (const l of lines) if (l) buf.pushWire(l);
          const dropped = buf.trim();
          if (dropped) searched.current.upTo = Math.max(0, searched.current.upTo - dropped);
          if (!followRef.current) setNewLines((n) => n + lines.length);
          schedule();
        }, ctl.signal);
      } catch (err) {
        if ((err as Error).name !== 'AbortError') setError((err as Error).message);
      } finally {
        setStreaming(false);
        since = sinceParam(buf.lastTimestamp());
      }
    };
    buf.text.length = buf.plain.length = buf.ts.length = buf.err.length = 0;
    start(true);
    return () => { ctl.abort(); cancelAnimationFrame(frame.current); frame.current = 0; };
  }, [p.id, tail, buf]);

  // a stopped container that starts again: continue from the last line seen
  const wasRunning = useRef(p.running);
  useEffect(() => {
    if (p.running && !wasRunning.current && !streaming) {
      const ctl = new AbortController();
      const since = sinceParam(buf.lastTimestamp());
      const qs = new URLSearchParams({ follow: '1', tail: 'all', ...(since ? { since } : {}) });
      call(`/api/logs/${encodeURIComponent(p.id)}?${qs}`, { signal: ctl.signal })
        .then((res) => readLines(res, (lines) => { for (const l of lines) if (l) buf.pushWire(l); buf.trim(); schedule(); }, ctl.signal))
        .catch(() => undefined);
      wasRunning.current = p.running;
      return () => ctl.abort();
    }
    wasRunning.current = p.running;
  }, [p.running]);

  // search: full scan when the query changes, then only the lines that arrived since
  useEffect(() => {
    const t = setTimeout(() => setNeedle(query.trim().toLowerCase()), 120);
    return () => clearTimeout(t);
  }, [query]);
  useEffect(() => {
    if (!needle) { setMatches([]); setCur(-1); searched.current = { needle: '', upTo: 0 }; return; }
    // matches are absolute line numbers (index + lines dropped from the front), stable while the buffer trims
    const t0 = performance.now();
    const list = buf.find(needle).map((i) => i + buf.dropped);
    // a User Timing entry per scan: bench/desktop reads them (the search's own cost, without the debounce)
    performance.measure('berth:log-search', { start: t0 });
    searched.current = { needle, upTo: buf.length + buf.dropped };
    setMatches(list);
    setCur(list.length ? list.length - 1 : -1);
    if (list.length) reveal(list[list.length - 1]);
  }, [needle]);
  if (needle && searched.current.needle === needle && searched.current.upTo < buf.length + buf.dropped) {
    const from = Math.max(0, searched.current.upTo - buf.dropped);
    searched.current.upTo = buf.length + buf.dropped;
    const extra = buf.find(needle, from).map((i) => i + buf.dropped);
    if (extra.length) setMatches([...matches.filter((m) => m >= buf.dropped), ...extra]);
  }

  function reveal(abs: number) {
    const el = box.current;
    if (!el) return;
    followRef.current = false;
    setFollow(false);
    el.scrollTop = Math.max(0, (abs - buf.dropped) * ROW - el.clientHeight / 2);
  }
  function step(d: number) {
    if (!matches.length) return;
    const n = (cur + d + matches.length) % matches.length;
    setCur(n);
    reveal(matches[n]);
  }

  useLayoutEffect(() => {
    const el = box.current;
    if (el && followRef.current) el.scrollTop = el.scrollHeight;
  });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setScroll({ top: el.scrollTop, height: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const onScroll = () => {
    const el = box.current!;
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW;
    if (atEnd !== followRef.current) {
      followRef.current = atEnd;
      setFollow(atEnd);
      if (atEnd) setNewLines(0);
    }
    setScroll({ top: el.scrollTop, height: el.clientHeight });
  };

  const first = Math.max(0, Math.floor(scroll.top / ROW) - OVERSCAN);
  const last = Math.min(buf.length, Math.ceil((scroll.top + scroll.height) / ROW) + OVERSCAN);
  const curLine = cur >= 0 ? matches[cur] - buf.dropped : -1;
  const rows = [];
  for (let i = first; i < last; i++) rows.push(<LogRow key={i + buf.dropped} buf={buf} i={i} showTs={showTs} needle={needle} current={i === curLine} />);

  return (
    <>
      <div class="logbar">
        <input type="search" class="search" placeholder="Search logs" value={query} aria-label="search logs"
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => { if (e.key === 'Enter') { e.preventDefault(); step(e.shiftKey ? -1 : 1); } }} />
        <span class="muted" data-testid="match-count">{needle ? `${matches.length ? cur + 1 : 0} / ${matches.length}` : ''}</span>
        <button class="small" title="Previous match (Shift+Enter)" aria-label="previous match" onClick={() => step(-1)} disabled={!matches.length}>↑</button>
        <button class="small" title="Next match (Enter)" aria-label="next match" onClick={() => step(1)} disabled={!matches.length}>↓</button>
        <label class="check"><input type="checkbox" checked={follow} onChange={(e) => {
          const on = (e.target as HTMLInputElement).checked;
          followRef.current = on; setFollow(on); if (on) setNewLines(0); setVersion((v) => v + 1);
        }} />Follow</label>
        <label class="check"><input type="checkbox" checked={showTs} onChange={(e) => setShowTs((e.target as HTMLInputElement).checked)} />Timestamps</label>
        <select value={tail} onChange={(e) => setTail((e.target as HTMLSelectElement).value)} aria-label="lines to load">
          <option value="1000">last 1,000</option><option value="10000">last 10,000</option><option value="100000">last 100,000</option><option value="all">all lines</option>
        </select>
        <span class="spacer" />
        <span class="muted" data-testid="line-count">{(buf.length + buf.dropped).toLocaleString()} lines{streaming && p.running ? ' · live' : ''}</span>
        <a class="btn" href={`/api/logs/${encodeURIComponent(p.id)}?download=1&timestamps=${showTs ? 1 : 0}`} download={`${p.name}.log`}>Download</a>
      </div>
      {error && <div class="errbox">{error}</div>}
      <div class="logwrap">
        <div class="logview" ref={box} onScroll={onScroll} data-testid="logview" tabIndex={0}>
          <div class="spacer-y" style={{ height: `${buf.length * ROW}px` }}>
            <div class="win" style={{ transform: `translateY(${first * ROW}px)` }}>{rows}</div>
          </div>
        </div>
        {!follow && newLines > 0 && (
          <button class="primary logpaused" data-testid="new-lines" onClick={() => { followRef.current = true; setFollow(true); setNewLines(0); }}>
            ↓ {newLines.toLocaleString()} new lines
          </button>
        )}
      </div>
    </>
  );
}
