// One container: header with its state and actions, and tabs for logs, terminal, inspect, stats, processes
// and files. A container removed while its page is open keeps what was shown and says so.
import { Icon } from '../icons';
import { useEffect, useState } from 'preact/hooks';
import type { ContainerInspect } from '../../../client/types';
import { ApiError, engine } from '../api';
import { onEvent } from '../live';
import { go, href } from '../router';
import { ConfirmButton, ErrorBox, JsonView, StateDot, lazyView, useAction, useLoad } from '../ui';
import { allowed, containerAction, ContainerAction } from './actions';
import { LogView } from './logs';
import { StatsView } from './stats-view';
import { TopView } from './top';
import { FilesView } from './files';
import { portLinks } from './containers';

const Terminal = lazyView(() => import('./terminal'));

const TABS: Array<[string, string]> = [['logs', 'Logs'], ['terminal', 'Terminal'], ['inspect', 'Inspect'], ['stats', 'Stats'], ['top', 'Processes'], ['files', 'Files']];

export default function ContainerDetail(p: { id: string; tab: string }) {
  const [info, setInfo] = useState<ContainerInspect>();
  const [gone, setGone] = useState(false);
  const [n, setN] = useState(0);
  const action = useAction();
  const load = useLoad(async () => {
    try {
      const i = await engine<ContainerInspect>('GET', `/containers/${encodeURIComponent(p.id)}/json`);
      setInfo(i);
      return i;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setGone(true);
      throw err;
    }
  }, [p.id, n]);

  useEffect(() => {
    setGone(false);
    setInfo(undefined);
  }, [p.id]);

  useEffect(() => onEvent((e) => {
    if (e.Type !== 'container') return;
    const id = e.Actor?.ID ?? '';
    if (!(id === p.id || id.startsWith(p.id) || (info && id === info.Id))) return;
    const a = String(e.Action ?? '');
    if (a === 'destroy') setGone(true);
    else if (!a.startsWith('exec_') && a !== 'top' && !a.startsWith('archive')) setN((x) => x + 1);
  }), [p.id, info?.Id]);

  const name = (info?.Name ?? '').replace(/^\//, '') || p.id.slice(0, 12);
  const state = info?.State?.Status;
  // a terminal that was open stays on screen when its container stops, to show how the shell ended
  const [termOpen, setTermOpen] = useState(false);
  useEffect(() => { if (p.tab === 'terminal' && state === 'running') setTermOpen(true); if (p.tab !== 'terminal') setTermOpen(false); }, [p.tab, state]);
  const run = (a: ContainerAction) => action.run(async () => {
    await containerAction(info?.Id ?? p.id, a);
    if (a === 'remove') go(href('containers'));
  });
  const ports = portLinks(Object.entries((info?.NetworkSettings as { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> } | undefined)?.Ports ?? {})
    .flatMap(([k, v]) => (v ?? []).map((b) => ({ IP: b.HostIp, PublicPort: Number(b.HostPort), PrivatePort: Number(k.split('/')[0]), Type: k.split('/')[1] ?? 'tcp' }))));

  return (
    <div class="page fill" data-view="container">
      <div class="head">
        <a href={href('containers')}>Containers</a><span class="muted">/</span>
        <h1 data-testid="container-name">{name}</h1>
        {state && <span class="status" data-state={state}><StateDot state={gone ? 'dead' : state} />{gone ? 'removed' : state}</span>}
        <span class="sub mono">{info?.Config?.Image}</span>
        <span class="ports">{ports.map((x) => x.url ? <a href={x.url} target="_blank" rel="noopener noreferrer">{x.label}</a> : <span>{x.label}</span>)}</span>
        <span class="spacer" />
        {!gone && info && (
          <span class="toolbar" style={{ margin: '0px' }}>
            {allowed(state, 'start') && <button onClick={() => run('start')} disabled={action.busy}><Icon name="play" />Start</button>}
            {allowed(state, 'stop') && <button onClick={() => run('stop')} disabled={action.busy}><Icon name="stop" />Stop</button>}
            {allowed(state, 'restart') && <button onClick={() => run('restart')} disabled={action.busy}><Icon name="restart" />Restart</button>}
            {allowed(state, 'pause') && <button onClick={() => run('pause')} disabled={action.busy}><Icon name="pause" />Pause</button>}
            {allowed(state, 'unpause') && <button onClick={() => run('unpause')} disabled={action.busy}><Icon name="play" />Unpause</button>}
            {allowed(state, 'kill') && <button onClick={() => run('kill')} disabled={action.busy}>Kill</button>}
            <ConfirmButton class="danger" onConfirm={() => run('remove')} disabled={action.busy} confirmText="Remove?">Remove</ConfirmButton>
          </span>
        )}
      </div>
      {gone && <div class="banner info" role="status" data-testid="removed">This container was removed. What was shown stays until you leave.</div>}
      <ErrorBox error={action.error} onClose={action.clear} />
      {!info && load.error && !gone && <ErrorBox error={load.error} />}
      <div class="tabs">
        {TABS.map(([id, label]) => <a href={href('containers', p.id, id)} class={p.tab === id ? 'active' : ''} data-tab={id}>{label}</a>)}
      </div>
      {info && p.tab === 'logs' && <LogView id={info.Id} name={name} running={state === 'running'} />}
      {info && p.tab === 'terminal' && ((state === 'running' && !gone) || termOpen
        ? <Terminal id={info.Id} />
        : <div class="empty">The container is not running: start it to open a terminal.</div>)}
      {info && p.tab === 'inspect' && <JsonView value={info} />}
      {info && p.tab === 'stats' && <StatsView id={info.Id} running={state === 'running'} />}
      {info && p.tab === 'top' && <TopView id={info.Id} running={state === 'running'} />}
      {info && p.tab === 'files' && <FilesView target={{ container: info.Id }} />}
    </div>
  );
}
