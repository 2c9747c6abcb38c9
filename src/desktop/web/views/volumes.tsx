// Volumes: list (size and users from system df), create, remove, prune, and browse/download their files.
import { useState } from 'preact/hooks';
import type { ContainerSummary, DiskUsage, VolumeSummary } from '../../../client/types';
import { engine, q } from '../api';
import { bytes, containerName } from '../format';
import { href } from '../router';
import { ConfirmButton, Empty, ErrorBox, useAction, useLoad } from '../ui';
import { FilesView } from './files';

export default function VolumesView(p: { name?: string }) {
  if (p.name) {
    return (
      <div class="page" data-view="volume">
        <div class="head"><a href={href('volumes')}>Volumes</a><span class="muted">/</span><h1>{p.name}</h1></div>
        <FilesView target={{ volume: p.name }} />
      </div>
    );
  }
  return <VolumeList />;
}

function VolumeList() {
  const df = useLoad(() => engine<DiskUsage>('GET', '/system/df?type=volume'));
  const vols = useLoad(() => engine<{ Volumes: VolumeSummary[] | null }>('GET', '/volumes'));
  const cs = useLoad(() => engine<ContainerSummary[]>('GET', '/containers/json?all=1'));
  const [name, setName] = useState('');
  const create = useAction();
  const prune = useAction();
  const [msg, setMsg] = useState<string>();
  const [errors, setErrors] = useState(new Map<string, string>());
  const sizes = new Map((df.data?.Volumes ?? []).map((v) => [v.Name, v.UsageData?.Size ?? -1]));
  const users = new Map<string, string[]>();
  for (const c of cs.data ?? []) for (const m of c.Mounts ?? []) if (m.Type === 'volume' && m.Name) users.set(m.Name, [...(users.get(m.Name) ?? []), containerName(c)]);
  const reload = () => { df.reload(); vols.reload(); cs.reload(); };
  const list = vols.data?.Volumes ?? [];

  return (
    <div class="page" data-view="volumes">
      <div class="head">
        <h1>Volumes</h1><span class="sub">{list.length} volumes</span><span class="spacer" />
        <ConfirmButton onConfirm={() => prune.run(async () => {
          const r = await engine<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', `/volumes/prune${q({ filters: JSON.stringify({ all: ['true'] }) })}`);
          setMsg(`Removed ${r.VolumesDeleted?.length ?? 0} volumes, reclaimed ${bytes(r.SpaceReclaimed ?? 0)}`);
          reload();
        })} confirmText="Remove all unused?">Prune unused</ConfirmButton>
      </div>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); create.run(async () => { await engine('POST', '/volumes/create', { Name: name.trim() }); setName(''); reload(); }); }}>
        <input placeholder="new volume name (empty: generated)" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} aria-label="volume name" style={{ width: '260px' }} />
        <button class="primary" disabled={create.busy}>Create volume</button>
      </form>
      <ErrorBox error={create.error ?? prune.error ?? vols.error} />
      {msg && <div class="okbox">{msg}</div>}
      <div class="card">
        <table class="grid" data-testid="volumes-table">
          <thead><tr><th>Name</th><th>Driver</th><th>Used by</th><th class="num">Size</th><th>Created</th><th /></tr></thead>
          <tbody>
            {list.flatMap((v) => [
              <tr data-volume={v.Name}>
                <td><a href={href('volumes', v.Name)}>{v.Name.length > 40 ? v.Name.slice(0, 12) + '…' : v.Name}</a></td>
                <td>{v.Driver}</td>
                <td>{(users.get(v.Name) ?? []).join(', ') || <span class="muted">—</span>}</td>
                <td class="num">{(sizes.get(v.Name) ?? -1) >= 0 ? bytes(sizes.get(v.Name)) : '—'}</td>
                <td class="muted">{v.CreatedAt ? new Date(v.CreatedAt).toLocaleString() : ''}</td>
                <td class="actions">
                  <a class="btn" style={{ height: '24px' }} href={href('volumes', v.Name)}>Browse</a>{' '}
                  <a class="btn" style={{ height: '24px' }} href={`/api/files/download${q({ volume: v.Name, path: '/' })}`}>Download</a>{' '}
                  <ConfirmButton class="small" onConfirm={async () => {
                    try { await engine('DELETE', `/volumes/${encodeURIComponent(v.Name)}`); reload(); } catch (err) { setErrors((m) => new Map(m).set(v.Name, (err as Error).message)); }
                  }} confirmText="Remove?">Remove</ConfirmButton>
                </td>
              </tr>,
              errors.get(v.Name) ? <tr class="rowerr"><td colSpan={6} role="alert">{errors.get(v.Name)}</td></tr> : null,
            ])}
          </tbody>
        </table>
        {vols.data && list.length === 0 && <Empty>No volumes.</Empty>}
      </div>
    </div>
  );
}
