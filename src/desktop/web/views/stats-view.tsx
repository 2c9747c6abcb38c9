// Stats charts over time for one container: CPU, memory, network and block I/O rates, from the samples the
// page's stream brings (history kept while the page is open, so the charts have a past when they open).
import { useEffect, useRef, useState } from 'preact/hooks';
import { onStats, statsHistory, wantStats, StatSample } from '../live';
import { bytes, mib } from '../format';
import { drawChart, Series } from './chart';

interface ChartDef { key: string; title: string; fmt: (v: number) => string; series: (h: StatSample[]) => Series[]; value: (h: StatSample[]) => string; max?: (h: StatSample[]) => number | undefined }

/** Per-second rates from counters: the first sample has no rate and is skipped. */
function rate(h: StatSample[], f: (s: StatSample) => number): number[] {
  return h.map((s, i) => (i === 0 ? 0 : Math.max(0, (f(s) - f(h[i - 1])) / Math.max(0.001, (s.t - h[i - 1].t) / 1000))));
}
const rateFmt = (v: number) => `${bytes(v)}/s`;

const CHARTS: ChartDef[] = [
  { key: 'cpu', title: 'CPU', fmt: (v) => `${v.toFixed(v < 10 ? 1 : 0)}%`, series: (h) => [{ label: 'CPU %', color: '#2563eb', values: h.map((s) => s.cpu) }], value: (h) => `${(h[h.length - 1]?.cpu ?? 0).toFixed(2)}%` },
  {
    key: 'mem', title: 'Memory', fmt: mib, series: (h) => [{ label: 'used', color: '#7c3aed', values: h.map((s) => s.mem) }],
    value: (h) => { const s = h[h.length - 1]; return s ? `${mib(s.mem)} / ${mib(s.memLimit)}` : '—'; },
  },
  {
    key: 'net', title: 'Network', fmt: rateFmt,
    series: (h) => [{ label: 'received', color: '#16a34a', values: rate(h, (s) => s.netRx) }, { label: 'sent', color: '#d97706', values: rate(h, (s) => s.netTx) }],
    value: (h) => { const s = h[h.length - 1]; return s ? `${bytes(s.netRx)} in · ${bytes(s.netTx)} out` : '—'; },
  },
  {
    key: 'blk', title: 'Block I/O', fmt: rateFmt,
    series: (h) => [{ label: 'read', color: '#0891b2', values: rate(h, (s) => s.blkRead) }, { label: 'written', color: '#dc2626', values: rate(h, (s) => s.blkWrite) }],
    value: (h) => { const s = h[h.length - 1]; return s ? `${bytes(s.blkRead)} read · ${bytes(s.blkWrite)} written` : '—'; },
  },
];

export function StatsView(p: { id: string; running: boolean }) {
  const canvases = useRef<Record<string, HTMLCanvasElement | null>>({});
  const [, setN] = useState(0);
  useEffect(() => wantStats([p.id]), [p.id]);
  useEffect(() => {
    const draw = () => {
      const h = statsHistory(p.id);
      const times = h.map((s) => s.t);
      for (const c of CHARTS) {
        const cv = canvases.current[c.key];
        if (cv) drawChart(cv, times, c.series(h), c.fmt);
      }
      setN((n) => n + 1);
    };
    draw();
    const off = onStats((items) => { if (items.some((s) => s.id === p.id)) draw(); });
    addEventListener('resize', draw);
    return () => { off(); removeEventListener('resize', draw); };
  }, [p.id]);
  const h = statsHistory(p.id);
  return (
    <div style={{ overflow: 'auto' }}>
      {!p.running && <div class="banner info" style={{ marginBottom: '10px', borderRadius: '6px' }}>The container is not running; charts show what was sampled while it ran.</div>}
      <div class="charts" data-testid="charts">
        {CHARTS.map((c) => (
          <div class="card chart" data-chart={c.key}>
            <div class="t"><span>{c.title}</span><span class="v">{c.value(h)}</span></div>
            <canvas ref={(el) => { canvases.current[c.key] = el; }} data-samples={h.length} />
            <div class="legend">{c.series(h.slice(-1)).map((s) => <span><i style={{ background: s.color }} />{s.label}</span>)}</div>
          </div>
        ))}
      </div>
      <div class="muted" style={{ marginTop: '8px' }}>{h.length} samples, one a second, kept while this page is open · {h[h.length - 1]?.pids ?? 0} processes</div>
    </div>
  );
}
