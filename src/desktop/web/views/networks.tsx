// Networks: list, create, remove, and the containers connected to each.
import { useState } from 'preact/hooks';
import type { NetworkSummary } from '../../../client/types';
import { engine } from '../api';
import { href } from '../router';
import { ConfirmButton, ErrorBox, useAction, useLoad } from '../ui';

interface NetInspect extends NetworkSummary {
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null };
  Containers?: Record<string, { Name?: string; IPv4Address?: string; MacAddress?: string }> | null;
}

export default function NetworksView() {
  const nets = useLoad(async () => {
    const list = await engine<NetworkSummary[]>('GET', '/networks');
    // the list endpoint leaves Containers empty (as docker's does): inspect each for its members
    return Promise.all(list.map((n) => engine<NetInspect>('GET', `/networks/${encodeURIComponent(n.Id ?? n.Name ?? '')}`).catch(() => n as NetInspect)));
  });
  const [open, setOpen] = useState(new Set<string>());
  const [form, setForm] = useState({ name: '', subnet: '', internal: false });
  const create = useAction();
  const [errors, setErrors] = useState(new Map<string, string>());
  const list = (nets.data ?? []).sort((a, b) => (a.Name ?? '').localeCompare(b.Name ?? ''));

  return (
    <div class="page" data-view="networks">
      <div class="head"><h1>Networks</h1><span class="sub">{list.length} networks</span></div>
      <form class="toolbar" onSubmit={(e) => {
        e.preventDefault();
        create.run(async () => {
          await engine('POST', '/networks/create', {
            Name: form.name.trim(), Driver: 'bridge', Internal: form.internal, CheckDuplicate: true,
            ...(form.subnet.trim() ? { IPAM: { Config: [{ Subnet: form.subnet.trim() }] } } : {}),
          });
          setForm({ name: '', subnet: '', internal: false });
          nets.reload();
        });
      }}>
        <input placeholder="network name" value={form.name} onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} aria-label="network name" />
        <input placeholder="subnet (optional) 10.60.0.0/24" value={form.subnet} onInput={(e) => setForm({ ...form, subnet: (e.target as HTMLInputElement).value })} aria-label="subnet" />
        <label class="check"><input type="checkbox" checked={form.internal} onChange={(e) => setForm({ ...form, internal: (e.target as HTMLInputElement).checked })} />internal</label>
        <button class="primary" disabled={create.busy || !form.name.trim()}>Create network</button>
      </form>
      <ErrorBox error={create.error ?? nets.error} />
      <div class="card">
        <table class="grid" data-testid="networks-table">
          <thead><tr><th>Name</th><th>ID</th><th>Driver</th><th>Subnet</th><th>Containers</th><th /></tr></thead>
          <tbody>
            {list.flatMap((n) => {
              const members = Object.entries(n.Containers ?? {});
              const id = n.Id ?? '';
              const builtin = ['bridge', 'host', 'none'].includes(n.Name ?? '');
              return [
                <tr data-network={n.Name}>
                  <td>{members.length ? <a href="#" onClick={(e) => { e.preventDefault(); setOpen((s) => { const x = new Set(s); if (x.has(id)) x.delete(id); else x.add(id); return x; }); }}>{open.has(id) ? '▾' : '▸'} {n.Name}</a> : n.Name}
                    {n.Internal && <span class="badge">internal</span>}</td>
                  <td class="mono">{id.slice(0, 12)}</td>
                  <td>{n.Driver}</td>
                  <td class="mono">{(n.IPAM?.Config ?? []).map((c) => c.Subnet).filter(Boolean).join(', ')}</td>
                  <td title={members.map(([, c]) => c.Name).join(', ')}>{members.length ? members.map(([, c]) => c.Name).join(', ') : <span class="muted">—</span>}</td>
                  <td class="actions">{!builtin && <ConfirmButton class="small" onConfirm={async () => {
                    try { await engine('DELETE', `/networks/${encodeURIComponent(id)}`); nets.reload(); } catch (err) { setErrors((m) => new Map(m).set(id, (err as Error).message)); }
                  }} confirmText="Remove?">Remove</ConfirmButton>}</td>
                </tr>,
                errors.get(id) ? <tr class="rowerr"><td colSpan={6} role="alert">{errors.get(id)}</td></tr> : null,
                ...(open.has(id) ? members.map(([cid, c]) => (
                  <tr class="member"><td class="name"><a href={href('containers', cid)}>{c.Name}</a></td><td class="mono">{cid.slice(0, 12)}</td><td /><td class="mono">{c.IPv4Address}</td><td class="mono muted">{c.MacAddress}</td><td /></tr>
                )) : []),
              ];
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}
