// The dashboard page: sidebar, engine banner and the current view. Only the containers list is in this
// first chunk; every other view (and xterm, charts) is loaded when first opened.
import { render } from 'preact';
import './styles.css';
import { connect, engineState } from './live';
import { route, href } from './router';
import { useStore } from './store';
import { containers, startContainers } from './containers-store';
import { lazyView } from './ui';
import { ContainersView } from './views/containers';

const ContainerDetail = lazyView(() => import('./views/container'));
const ImagesView = lazyView(() => import('./views/images'));
const VolumesView = lazyView(() => import('./views/volumes'));
const NetworksView = lazyView(() => import('./views/networks'));
const BuildsView = lazyView(() => import('./views/builds'));
const EventsView = lazyView(() => import('./views/events'));
const SystemView = lazyView(() => import('./views/system'));
const RegistryView = lazyView(() => import('./views/registry'));

const NAV: Array<[string, string]> = [
  ['containers', 'Containers'], ['images', 'Images'], ['volumes', 'Volumes'], ['networks', 'Networks'],
  ['builds', 'Builds'], ['events', 'Events'], ['registry', 'Registry'], ['system', 'System'],
];

function Banner() {
  const s = useStore(engineState);
  if (!s.connected && s.message === undefined && s.up) return null;
  if (!s.up) {
    return <div class="banner" role="alert" data-testid="engine-down"><span class="dot down" /><b>The engine is not answering.</b> {s.message} — retrying; this page recovers when it returns.</div>;
  }
  return null;
}

function App() {
  const r = useStore(route);
  const list = useStore(containers);
  let running = 0;
  for (const c of list.values()) if (c.State === 'running') running++;
  let view;
  switch (r.view) {
    // keyed by id: another container's page starts fresh (no state or event handler of the previous one)
    case 'containers': view = r.parts[0] ? <ContainerDetail key={r.parts[0]} id={r.parts[0]} tab={r.parts[1] ?? 'logs'} /> : <ContainersView />; break;
    case 'images': view = <ImagesView />; break;
    case 'volumes': view = <VolumesView name={r.parts[0]} />; break;
    case 'networks': view = <NetworksView />; break;
    case 'builds': view = <BuildsView id={r.parts[0]} />; break;
    case 'events': view = <EventsView />; break;
    case 'registry': view = <RegistryView />; break;
    case 'system': view = <SystemView />; break;
    default: view = <div class="page">Unknown page</div>;
  }
  return (
    <>
      <nav class="side">
        <div class="brand"><span class="logo">b</span>berth</div>
        <div class="nav">
          {NAV.map(([id, label]) => (
            <a href={href(id)} class={r.view === id ? 'active' : ''} data-nav={id}>
              {label}{id === 'containers' && <span class="count">{running}/{list.size}</span>}
            </a>
          ))}
        </div>
        <div class="foot">berth desktop</div>
      </nav>
      <div class="main">
        <Banner />
        {view}
      </div>
    </>
  );
}

connect();
startContainers();
render(<App />, document.getElementById('app')!);
