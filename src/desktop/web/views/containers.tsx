// The containers list: live (engine events), grouped by compose project with group actions, with ports as
// links, CPU and memory from the page's stats stream, single and bulk actions, search and a state filter.
import { Icon } from '../icons';
import type { ContainerSummary, Port } from '../../../client/types';
import { Component } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { containers, containersLoaded } from '../containers-store';
import { latestStats, StatSample, wantStats } from '../live';
import { useStore } from '../store';
import { ago, containerName, mib } from '../format';
import { href } from '../router';
import { ConfirmButton, Empty, ErrorBox, StateDot, lazyView } from '../ui';
import { allowed, containerAction, ContainerAction } from './actions';

const RunForm = lazyView(() => import('./run-form'));
const PROJECT = 'com.docker.compose.project';
const SERVICE = 'com.docker.compose.service';

type Filter = 'all' | 'running' | 'stopped';

export function portLinks(ports: Port[] | null | undefined) {
  const seen = new Set<string>();
  const out: Array<{ label: string; url?: string }> = [];
  for (const p of ports ?? []) {
    if (!p.PublicPort) continue;
    const k = `${p.PublicPort}:${p.PrivatePort}/${p.Type}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const host = !p.IP || p.IP === '0.0.0.0' || p.IP === '::' ? location.hostname : p.IP.includes(':') ? `[${p.IP}]` : p.IP;
    out.push({ label: `${p.PublicPort}:${p.PrivatePort}${p.Type !== 'tcp' ? '/' + p.Type : ''}`, url: p.Type === 'tcp' ? `http://${host}:${p.PublicPort}/` : undefined });
  }
  return out;
}

function matches(c: ContainerSummary, q: string, f: Filter): boolean {
  if (f === 'running' && c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting') return false;
  if (f === 'stopped' && (c.State === 'running' || c.State === 'paused' || c.State === 'restarting')) return false;
  if (!q) return true;
  const hay = `${containerName(c)} ${c.Image ?? ''} ${c.Id.slice(0, 12)} ${c.Labels?.[PROJECT] ?? ''} ${c.Labels?.[SERVICE] ?? ''} ${(c.Ports ?? []).map((p) => p.PublicPort ?? '').join(' ')}`.toLowerCase();
  return q.toLowerCase().split(/\s+/).every((w) => hay.includes(w));
}

interface Item { kind: 'group'; name: string; members: ContainerSummary[]; created: number }
type Top = Item | { kind: 'one'; c: ContainerSummary; created: number };

interface RowProps {
  c: ContainerSummary; member: boolean; st?: StatSample; selected: boolean; err?: string; busy: boolean; minute: number;
  toggle: (id: string) => void; act: (ids: string[], action: ContainerAction) => void;
}

/** One container's row (and its error line). Rendered again only when one of its props changed: a stats tick or
 * an event re-renders the rows it is about, not all of them. */
class Row extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return p.c !== next.c || p.member !== next.member || p.st !== next.st || p.selected !== next.selected || p.err !== next.err ||
      p.busy !== next.busy || p.minute !== next.minute || p.toggle !== next.toggle || p.act !== next.act;
  }

  override render({ c, member, st, selected, err, busy: b, toggle, act }: RowProps) {
    const running = c.State === 'running';
    const name = containerName(c);
    return [
      <tr class={`${member ? 'member' : ''} ${selected ? 'sel' : ''}`} data-id={c.Id} data-name={name}>
        <td class="chk"><input type="checkbox" aria-label={`select ${name}`} checked={selected} onChange={() => toggle(c.Id)} /></td>
        <td class="name"><a href={href('containers', c.Id)} title={c.Id}>{member && c.Labels?.[SERVICE] ? c.Labels[SERVICE] : name}</a>{member && <span class="muted"> · {name}</span>}</td>
        <td title={c.Image}>{c.Image}</td>
        <td><span class="status" data-state={c.State}><StateDot state={c.State} />{c.Status || c.State}</span></td>
        <td class="ports">{portLinks(c.Ports).map((p) => (p.url ? <a href={p.url} target="_blank" rel="noopener noreferrer">{p.label}</a> : <span class="mono">{p.label} </span>))}</td>
        <td class="num" data-col="cpu">{running && st ? `${st.cpu.toFixed(1)}%` : '—'}</td>
        <td class="num" data-col="mem">{running && st ? mib(st.mem) : '—'}</td>
        <td class="muted">{ago(c.Created)}</td>
        <td class="actions">
          {allowed(c.State, 'start')
            ? <button class="icon" title="Start" aria-label={`start ${name}`} disabled={b} onClick={() => act([c.Id], 'start')}><Icon name="play" /></button>
            : <button class="icon" title="Stop" aria-label={`stop ${name}`} disabled={b} onClick={() => act([c.Id], 'stop')}><Icon name="stop" /></button>}
          <button class="icon" title="Restart" aria-label={`restart ${name}`} disabled={b || c.State === 'created'} onClick={() => act([c.Id], 'restart')}><Icon name="restart" /></button>
          {c.State === 'paused'
            ? <button class="icon" title="Unpause" aria-label={`unpause ${name}`} disabled={b} onClick={() => act([c.Id], 'unpause')}><Icon name="play" /></button>
            : <button class="icon" title="Pause" aria-label={`pause ${name}`} disabled={b || !running} onClick={() => act([c.Id], 'pause')}><Icon name="pause" /></button>}
          <ConfirmButton class="icon" title="Remove" onConfirm={() => act([c.Id], 'remove')} disabled={b} confirmText="Remove?"><Icon name="trash" /></ConfirmButton>
        </td>
      </tr>,
      err ? <tr class="rowerr"><td colSpan={9} role="alert">{err}</td></tr> : null,
    ];
  }
}

export function ContainersView() {
  const map = useStore(containers);
  const loaded = useStore(containersLoaded);
  const stats = useStore(latestStats);
  const [query, setQuery] = useState(() => sessionStorage.getItem('c.q') ?? '');
  const [filter, setFilter] = useState<Filter>(() => (sessionStorage.getItem('c.f') as Filter) || 'all');
  const [sel, setSel] = useState(new Set<string>());
  const [errors, setErrors] = useState(new Map<string, string>());
  const [busy, setBusy] = useState(new Set<string>());
  const [collapsed, setCollapsed] = useState(new Set<string>());
  const [showRun, setShowRun] = useState(false);

  useEffect(() => wantStats('all'), []);
  useEffect(() => { sessionStorage.setItem('c.q', query); sessionStorage.setItem('c.f', filter); }, [query, filter]);

  const shown = useMemo(() => [...map.values()].filter((c) => matches(c, query, filter)), [map, query, filter]);
  const tops = useMemo(() => {
    const groups = new Map<string, Item>();
    const out: Top[] = [];
    for (const c of shown) {
      const project = c.Labels?.[PROJECT];
      if (project) {
        let g = groups.get(project);
        if (!g) { g = { kind: 'group', name: project, members: [], created: 0 }; groups.set(project, g); out.push(g); }
        g.members.push(c);
        g.created = Math.max(g.created, c.Created ?? 0);
      } else out.push({ kind: 'one', c, created: c.Created ?? 0 });
    }
    for (const g of groups.values()) g.members.sort((a, b) => (a.Labels?.[SERVICE] ?? containerName(a)).localeCompare(b.Labels?.[SERVICE] ?? containerName(b)));
    return out.sort((a, b) => b.created - a.created || (a.kind === 'group' ? a.name : containerName(a.c)).localeCompare(b.kind === 'group' ? b.name : containerName(b.c)));
  }, [shown]);

  const selected = [...sel].filter((id) => map.has(id));

  async function act(ids: string[], action: ContainerAction) {
    setBusy((b) => new Set([...b, ...ids]));
    const results = await Promise.allSettled(ids.map((id) => containerAction(id, action)));
    setErrors((prev) => {
      const next = new Map(prev);
      results.forEach((r, i) => { if (r.status === 'rejected') next.set(ids[i], (r.reason as Error).message); else next.delete(ids[i]); });
      return next;
    });
    setBusy((b) => { const n = new Set(b); for (const id of ids) n.delete(id); return n; });
    if (action === 'remove') setSel((s) => { const n = new Set(s); for (const id of ids) n.delete(id); return n; });
  }

  // stable across renders, so a row whose own props did not change is not rendered again (Row below)
  const toggle = useCallback((id: string) => setSel((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; }), []);
  const actRef = useRef(act);
  actRef.current = act;
  const stableAct = useCallback((ids: string[], action: ContainerAction) => actRef.current(ids, action), []);
  // the "Created" column's "5m ago": rows render again when the minute changes (the view renders every stats tick)
  const minute = Math.floor(Date.now() / 60_000);
  const allIds = shown.map((c) => c.Id);
  const allSelected = allIds.length > 0 && allIds.every((id) => sel.has(id));

  const row = (c: ContainerSummary, member: boolean) => (
    <Row key={c.Id} c={c} member={member} st={c.State === 'running' ? stats.get(c.Id) : undefined} selected={sel.has(c.Id)}
      err={errors.get(c.Id)} busy={busy.has(c.Id)} minute={minute} toggle={toggle} act={stableAct} />
  );

  return (
    <div class="page" data-view="containers">
      <div class="head">
        <h1>Containers</h1>
        <span class="sub">{map.size} total · {[...map.values()].filter((c) => c.State === 'running').length} running</span>
        <span class="spacer" />
        <button class="primary" onClick={() => setShowRun(true)}><Icon name="plus" />Run container</button>
      </div>
      <div class="toolbar">
        <input class="search" type="search" placeholder="Search name, image, id, port…" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} aria-label="search containers" />
        <div class="seg">
          {(['all', 'running', 'stopped'] as Filter[]).map((f) => <button class={filter === f ? 'on' : ''} onClick={() => setFilter(f)}>{f[0].toUpperCase() + f.slice(1)}</button>)}
        </div>
        <span class="spacer" />
        {selected.length > 0 && (
          <span class="toolbar" style={{ margin: '0px' }} data-testid="bulk">
            <span class="muted">{selected.length} selected</span>
            <button onClick={() => act(selected, 'start')}>Start</button>
            <button onClick={() => act(selected, 'stop')}>Stop</button>
            <button onClick={() => act(selected, 'restart')}>Restart</button>
            <button onClick={() => act(selected, 'pause')}>Pause</button>
            <button onClick={() => act(selected, 'unpause')}>Unpause</button>
            <button onClick={() => act(selected, 'kill')}>Kill</button>
            <ConfirmButton class="danger" onConfirm={() => act(selected, 'remove')} confirmText={`Remove ${selected.length}?`}>Remove</ConfirmButton>
          </span>
        )}
      </div>
      <ErrorBox error={loaded.error} />
      <div class="card">
        <table class="grid clist" data-testid="containers-table">
          <thead>
            <tr>
              <th class="chk"><input type="checkbox" aria-label="select all" checked={allSelected} onChange={() => setSel(allSelected ? new Set() : new Set(allIds))} /></th>
              <th>Name</th><th>Image</th><th>Status</th><th>Ports</th><th class="num">CPU</th><th class="num">Memory</th><th>Created</th><th />
            </tr>
          </thead>
          <tbody>
            {tops.map((t) => {
              if (t.kind === 'one') return row(t.c, false);
              const ids = t.members.map((m) => m.Id);
              const up = t.members.filter((m) => m.State === 'running').length;
              const open = !collapsed.has(t.name);
              const gerr = ids.map((id) => errors.get(id)).filter(Boolean);
              const sampled = t.members.some((m) => m.State === 'running' && stats.has(m.Id));
              const cpu = t.members.reduce((n, m) => n + (m.State === 'running' ? stats.get(m.Id)?.cpu ?? 0 : 0), 0);
              const mem = t.members.reduce((n, m) => n + (m.State === 'running' ? stats.get(m.Id)?.mem ?? 0 : 0), 0);
              return [
                <tr class="group" key={'g-' + t.name} data-group={t.name}>
                  <td class="chk"><input type="checkbox" aria-label={`select group ${t.name}`} checked={ids.every((id) => sel.has(id))}
                    onChange={() => setSel((s) => { const n = new Set(s); const all = ids.every((id) => n.has(id)); for (const id of ids) { if (all) n.delete(id); else n.add(id); } return n; })} /></td>
                  <td colSpan={2}>
                    <span class="caret" onClick={() => setCollapsed((s) => { const n = new Set(s); if (n.has(t.name)) n.delete(t.name); else n.add(t.name); return n; })}>{open ? '▾' : '▸'}</span>
                    {t.name} <span class="badge blue">compose</span>
                  </td>
                  <td><span class="status"><StateDot state={up === t.members.length ? 'running' : up ? 'restarting' : 'exited'} />{up}/{t.members.length} running</span></td>
                  <td />
                  <td class="num">{sampled ? `${cpu.toFixed(1)}%` : '—'}</td>
                  <td class="num">{sampled ? mib(mem) : '—'}</td>
                  <td />
                  <td class="actions">
                    <button class="icon" title="Start all" aria-label={`start group ${t.name}`} onClick={() => act(ids, 'start')}><Icon name="play" /></button>
                    <button class="icon" title="Stop all" aria-label={`stop group ${t.name}`} onClick={() => act(ids, 'stop')}><Icon name="stop" /></button>
                    <button class="icon" title="Restart all" aria-label={`restart group ${t.name}`} onClick={() => act(ids, 'restart')}><Icon name="restart" /></button>
                    <ConfirmButton class="icon" title="Remove all" onConfirm={() => act(ids, 'remove')} confirmText="Remove all?"><Icon name="trash" /></ConfirmButton>
                  </td>
                </tr>,
                !open && gerr.length ? <tr class="rowerr"><td colSpan={9}>{gerr.join('\n')}</td></tr> : null,
                ...(open ? t.members.map((m) => row(m, true)) : []),
              ];
            })}
          </tbody>
        </table>
        {loaded.loaded && shown.length === 0 && <Empty>{map.size ? 'No container matches.' : 'No containers yet. Run one from an image.'}</Empty>}
        {!loaded.loaded && !loaded.error && <Empty>Loading…</Empty>}
      </div>
      {showRun && <RunForm onClose={() => setShowRun(false)} />}
    </div>
  );
}
