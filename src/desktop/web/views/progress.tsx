// Pull and push progress: the Engine API's JSON-lines stream shown per layer (status, bar, bytes), with the
// lines that belong to no layer (Digest, Status) below and any error in red.
import { useState } from 'preact/hooks';
import { call, readJsonStream } from '../api';
import { bytes } from '../format';

interface Layer { id: string; status: string; current?: number; total?: number }
export interface ProgressState { layers: Layer[]; lines: string[]; error?: string; done: boolean; running: boolean }

export function useProgress(): { state: ProgressState; start: (path: string, method?: string) => Promise<boolean> } {
  const [state, setState] = useState<ProgressState>({ layers: [], lines: [], done: false, running: false });
  async function start(path: string, method = 'POST'): Promise<boolean> {
    const layers = new Map<string, Layer>();
    const lines: string[] = [];
    let error: string | undefined;
    setState({ layers: [], lines: [], done: false, running: true });
    let frame = 0;
    const flush = () => { frame = 0; setState({ layers: [...layers.values()], lines: [...lines], error, done: false, running: true }); };
    try {
      const res = await call('/api/engine' + path, { method });
      await readJsonStream(res, (m) => {
        const msg = m as { id?: string; status?: string; progressDetail?: { current?: number; total?: number }; error?: string; errorDetail?: { message?: string } };
        if (msg.error) error = msg.errorDetail?.message ?? msg.error;
        else if (msg.id && msg.status && !/^(Pulling from|Digest|Status)/.test(msg.status) && msg.id !== 'latest') {
          const l = layers.get(msg.id) ?? { id: msg.id, status: '' };
          l.status = msg.status;
          if (msg.progressDetail?.total) { l.current = msg.progressDetail.current; l.total = msg.progressDetail.total; }
          if (/complete|Already exists|Pushed|Layer already exists|Mounted/i.test(msg.status)) l.current = l.total;
          layers.set(msg.id, l);
        } else if (msg.status) lines.push(msg.id ? `${msg.id}: ${msg.status}` : msg.status);
        if (!frame) frame = requestAnimationFrame(flush);
      });
    } catch (err) {
      error = (err as Error).message;
    }
    cancelAnimationFrame(frame);
    setState({ layers: [...layers.values()], lines, error, done: true, running: false });
    return !error;
  }
  return { state, start };
}

export function Progress(p: { state: ProgressState; title?: string }) {
  const s = p.state;
  if (!s.running && !s.done) return null;
  return (
    <div class="card progress" data-testid="progress">
      {p.title && <div style={{ fontWeight: 600, marginBottom: '4px' }}>{p.title}</div>}
      {s.layers.map((l) => {
        const pct = l.total ? Math.min(100, ((l.current ?? 0) / l.total) * 100) : /complete|exists|Pushed|Mounted/i.test(l.status) ? 100 : 0;
        return (
          <div class="layer" data-layer={l.id}>
            <span>{l.id.slice(0, 12)}</span>
            <span class="muted">{l.status}</span>
            <span class="pbar"><i style={{ width: `${pct}%` }} /></span>
            <span class="muted">{l.total ? `${bytes(l.current ?? 0)} / ${bytes(l.total)}` : ''}</span>
          </div>
        );
      })}
      {s.lines.map((l) => <div class="line">{l}</div>)}
      {s.error && <div class="errbox" role="alert">{s.error}</div>}
      {s.running && <div class="muted">working…</div>}
    </div>
  );
}
