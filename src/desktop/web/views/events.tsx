// Events: the engine's live event feed (from the page's stream), with the last hour filled in on open.
import { useEffect, useState } from 'preact/hooks';
import { call, readJsonStream } from '../api';
import { EngineEvent, onEvent, recentEvents } from '../live';

const TYPES = ['all', 'container', 'image', 'volume', 'network', 'builder'];
let backfilled: EngineEvent[] | undefined;

function key(e: EngineEvent): string { return `${e.timeNano ?? e.time}-${e.Type}-${e.Action}-${e.Actor?.ID}`; }

export default function EventsView() {
  const [, setN] = useState(0);
  const [type, setType] = useState('all');
  const [paused, setPaused] = useState(false);
  const [text, setText] = useState('');
  useEffect(() => {
    if (!backfilled) {
      const now = Math.floor(Date.now() / 1000);
      const got: EngineEvent[] = [];
      call(`/api/engine/events?since=${now - 3600}&until=${now}`)
        .then((res) => readJsonStream(res, (v) => got.push(v as EngineEvent)))
        .then(() => { backfilled = got; setN((x) => x + 1); }, () => { backfilled = []; });
    }
    // a busy engine sends many events: redraw at most four times a second
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onEvent(() => {
      if (paused || timer) return;
      timer = setTimeout(() => { timer = undefined; setN((x) => x + 1); }, 250);
    });
    return () => { off(); if (timer) clearTimeout(timer); };
  }, [paused]);
  const seen = new Set<string>();
  const all = [...(backfilled ?? []), ...recentEvents].filter((e) => { const k = key(e); if (seen.has(k)) return false; seen.add(k); return true; });
  const shown = all.filter((e) => (type === 'all' || e.Type === type) && (!text || JSON.stringify(e).toLowerCase().includes(text.toLowerCase()))).slice(-500).reverse();
  return (
    <div class="page" data-view="events">
      <div class="head"><h1>Events</h1><span class="sub">live from the engine · last hour and everything since this page opened</span></div>
      <div class="toolbar">
        <div class="seg">{TYPES.map((t) => <button class={type === t ? 'on' : ''} onClick={() => setType(t)}>{t}</button>)}</div>
        <input type="search" placeholder="Filter" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} aria-label="filter events" />
        <label class="check"><input type="checkbox" checked={paused} onChange={(e) => setPaused((e.target as HTMLInputElement).checked)} />Pause</label>
      </div>
      <div class="card">
        <table class="grid" data-testid="events-table">
          <thead><tr><th>Time</th><th>Type</th><th>Action</th><th>Object</th><th>Attributes</th></tr></thead>
          <tbody>{shown.map((e) => {
            const attrs = e.Actor?.Attributes ?? {};
            const t = e.timeNano ? Number(BigInt(e.timeNano) / 1000000n) : (e.time ?? 0) * 1000;
            return (
              <tr>
                <td class="mono muted">{new Date(t).toLocaleTimeString()}</td>
                <td>{e.Type}</td>
                <td><b>{e.Action}</b></td>
                <td class="mono">{attrs.name ?? (e.Actor?.ID ?? '').slice(0, 12)}</td>
                <td class="muted" title={JSON.stringify(attrs)}>{Object.entries(attrs).filter(([k]) => k !== 'name').map(([k, v]) => `${k}=${v}`).join(' ')}</td>
              </tr>
            );
          })}</tbody>
        </table>
        {shown.length === 0 && <div class="empty">No events yet.</div>}
      </div>
    </div>
  );
}
