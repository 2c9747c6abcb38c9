// Processes of a running container (GET /containers/{id}/top), refreshed every few seconds while shown.
import { useEffect } from 'preact/hooks';
import type { TopResponse } from '../../../client/types';
import { engine } from '../api';
import { Empty, ErrorBox, useLoad } from '../ui';

export function TopView(p: { id: string; running: boolean }) {
  const top = useLoad(() => (p.running ? engine<TopResponse>('GET', `/containers/${encodeURIComponent(p.id)}/top`) : Promise.resolve(undefined)), [p.id, p.running]);
  useEffect(() => {
    if (!p.running) return;
    const t = setInterval(() => { if (document.visibilityState === 'visible') top.reload(); }, 3000);
    return () => clearInterval(t);
  }, [p.id, p.running]);
  if (!p.running) return <Empty>The container is not running.</Empty>;
  return (
    <div style={{ overflow: 'auto' }}>
      <ErrorBox error={top.error} />
      {top.data && (
        <div class="card">
          <table class="grid" data-testid="top">
            <thead><tr>{top.data.Titles.map((t) => <th>{t}</th>)}</tr></thead>
            <tbody>{top.data.Processes.map((row) => <tr>{row.map((c) => <td class="mono">{c}</td>)}</tr>)}</tbody>
          </table>
        </div>
      )}
    </div>
  );
}
