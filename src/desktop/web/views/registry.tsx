// Registry: point the dashboard at a registry (berth's `registry serve` or any v2 registry, with a login) to
// browse repositories, tags and manifests with their sizes, pull from there, and push local images to it.
import { useState } from 'preact/hooks';
import type { ImageSummary } from '../../../client/types';
import { engine, json, q } from '../api';
import { bytes, shortId } from '../format';
import { Empty, ErrorBox, JsonView, useAction, useLoad } from '../ui';
import { Progress, useProgress } from './progress';

interface ManifestView {
  mediaType: string; digest: string; size: number; totalSize: number;
  layers?: Array<{ digest: string; size: number; mediaType: string }>;
  config?: { digest: string; size: number; os?: string; architecture?: string; created?: string };
  manifests?: Array<{ digest: string; size: number; mediaType: string; platform?: string }>;
  raw: unknown;
}

export default function RegistryView() {
  const [addr, setAddr] = useState(() => localStorage.getItem('registry') ?? '127.0.0.1:5000');
  const [registry, setRegistry] = useState(() => localStorage.getItem('registry') ?? '');
  const [repo, setRepo] = useState<string>();
  const [tag, setTag] = useState<string>();
  const [showRaw, setShowRaw] = useState(false);
  const [login, setLogin] = useState({ username: '', password: '' });
  const loginAction = useAction();
  const repos = useLoad(() => (registry ? json<string[]>(`/api/registry/catalog${q({ registry })}`) : Promise.resolve(undefined)), [registry]);
  const tags = useLoad(() => (registry && repo ? json<string[]>(`/api/registry/tags${q({ registry, repo })}`) : Promise.resolve(undefined)), [registry, repo]);
  const manifest = useLoad(() => (registry && repo && tag ? json<ManifestView>(`/api/registry/manifest${q({ registry, repo, ref: tag })}`) : Promise.resolve(undefined)), [registry, repo, tag]);
  const images = useLoad(() => engine<ImageSummary[]>('GET', '/images/json'));
  const pull = useProgress();
  const push = useProgress();
  const [pushForm, setPushForm] = useState({ image: '', repo: '', tag: 'latest' });
  const pushAction = useAction();

  const open = (e: Event) => {
    e.preventDefault();
    const a = addr.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    localStorage.setItem('registry', a);
    setRegistry(a); setRepo(undefined); setTag(undefined);
  };
  async function doPush(e: Event) {
    e.preventDefault();
    const target = `${registry}/${pushForm.repo.trim()}`;
    const ok = await pushAction.run(() => engine('POST', `/images/${encodeURIComponent(pushForm.image)}/tag${q({ repo: target, tag: pushForm.tag.trim() || 'latest' })}`));
    if (!ok) return;
    await push.start(`/images/${target.split('/').map(encodeURIComponent).join('/')}/push${q({ tag: pushForm.tag.trim() || 'latest' })}`);
    repos.reload(); tags.reload();
  }
  const localTags = (images.data ?? []).flatMap((i) => (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'));

  return (
    <div class="page" data-view="registry">
      <div class="head"><h1>Registry</h1><span class="sub">browse any Docker Registry v2 / OCI registry — e.g. one from <code>berth registry serve</code></span></div>
      <form class="toolbar" onSubmit={open}>
        <input style={{ width: '260px' }} value={addr} onInput={(e) => setAddr((e.target as HTMLInputElement).value)} placeholder="host:port" aria-label="registry address" />
        <button class="primary">Open</button>
        <span class="spacer" />
        <input placeholder="username" value={login.username} onInput={(e) => setLogin({ ...login, username: (e.target as HTMLInputElement).value })} aria-label="username" style={{ width: '130px' }} />
        <input placeholder="password" type="password" value={login.password} onInput={(e) => setLogin({ ...login, password: (e.target as HTMLInputElement).value })} aria-label="password" style={{ width: '130px' }} />
        <button type="button" disabled={!registry || !login.username || loginAction.busy} onClick={() => loginAction.run(async () => {
          await json('/api/registry/login', { body: { registry, ...login } });
          setLogin({ username: login.username, password: '' });
          repos.reload();
        })}>Log in</button>
      </form>
      <ErrorBox error={loginAction.error} onClose={loginAction.clear} />
      {!registry && <Empty>Enter a registry address to browse it.</Empty>}
      {registry && (
        <div class="split" style={{ gridTemplateColumns: '240px 200px 1fr' }}>
          <div class="card">
            <div style={{ padding: '6px 10px', fontWeight: 600 }}>Repositories</div>
            <div class="list" data-testid="repos">
              {(repos.data ?? []).map((r) => <a href="#" class={r === repo ? 'active' : ''} onClick={(e) => { e.preventDefault(); setRepo(r); setTag(undefined); }}>{r}</a>)}
              {repos.data && repos.data.length === 0 && <div class="empty">No repositories.</div>}
              {repos.error && <div style={{ padding: '8px' }}><ErrorBox error={repos.error} /></div>}
            </div>
          </div>
          <div class="card">
            <div style={{ padding: '6px 10px', fontWeight: 600 }}>Tags</div>
            <div class="list" data-testid="tags">
              {(tags.data ?? []).map((t) => <a href="#" class={t === tag ? 'active' : ''} onClick={(e) => { e.preventDefault(); setTag(t); }}>{t}</a>)}
              {!repo && <div class="empty">Pick a repository.</div>}
              {tags.error && <div style={{ padding: '8px' }}><ErrorBox error={tags.error} /></div>}
            </div>
          </div>
          <div>
            {manifest.error && <ErrorBox error={manifest.error} />}
            {manifest.data && (
              <div class="card" style={{ padding: '12px' }} data-testid="manifest">
                <div class="toolbar">
                  <b class="mono">{registry}/{repo}:{tag}</b><span class="spacer" />
                  <button class="primary" disabled={pull.state.running} onClick={() => pull.start(`/images/create${q({ fromImage: `${registry}/${repo}`, tag })}`).then(() => images.reload())}>Pull</button>
                  <button onClick={() => setShowRaw(!showRaw)}>{showRaw ? 'Summary' : 'Raw manifest'}</button>
                </div>
                <div class="kv" style={{ marginBottom: '10px' }}>
                  <div class="card"><div class="k">Digest</div><div class="v mono" style={{ fontSize: '12px' }}>{manifest.data.digest}</div></div>
                  <div class="card"><div class="k">Media type</div><div class="v mono" style={{ fontSize: '12px' }}>{manifest.data.mediaType}</div></div>
                  <div class="card"><div class="k">Size (compressed)</div><div class="v" data-testid="total-size">{bytes(manifest.data.totalSize)}</div></div>
                  {manifest.data.config?.architecture && <div class="card"><div class="k">Platform</div><div class="v">{manifest.data.config.os}/{manifest.data.config.architecture}</div></div>}
                </div>
                {showRaw ? <JsonView value={manifest.data.raw} /> : (
                  <table class="grid">
                    <thead><tr><th>{manifest.data.layers ? 'Layer' : 'Manifest'}</th><th>{manifest.data.layers ? 'Media type' : 'Platform'}</th><th class="num">Size</th></tr></thead>
                    <tbody>
                      {(manifest.data.layers ?? []).map((l) => <tr><td class="mono">{shortId(l.digest)}</td><td class="mono muted">{l.mediaType}</td><td class="num">{bytes(l.size)}</td></tr>)}
                      {(manifest.data.manifests ?? []).map((m) => <tr><td class="mono"><a href="#" onClick={(e) => { e.preventDefault(); setTag(m.digest); }}>{shortId(m.digest)}</a></td><td>{m.platform}</td><td class="num">{bytes(m.size)}</td></tr>)}
                    </tbody>
                  </table>
                )}
                <Progress state={pull.state} title="Pull" />
              </div>
            )}
            <form class="card" style={{ padding: '12px', marginTop: '12px' }} onSubmit={doPush} data-testid="push-form">
              <div style={{ fontWeight: 600, marginBottom: '8px' }}>Push a local image to {registry}</div>
              <div class="toolbar">
                <select value={pushForm.image} onChange={(e) => setPushForm({ ...pushForm, image: (e.target as HTMLSelectElement).value })} aria-label="local image">
                  <option value="">local image…</option>{localTags.map((t) => <option value={t}>{t}</option>)}
                </select>
                <span class="muted">→ {registry}/</span>
                <input placeholder="repository" value={pushForm.repo} onInput={(e) => setPushForm({ ...pushForm, repo: (e.target as HTMLInputElement).value })} aria-label="repository" style={{ width: '150px' }} />
                <span class="muted">:</span>
                <input value={pushForm.tag} onInput={(e) => setPushForm({ ...pushForm, tag: (e.target as HTMLInputElement).value })} aria-label="tag" style={{ width: '90px' }} />
                <button class="primary" disabled={!pushForm.image || !pushForm.repo.trim() || push.state.running}>Push</button>
              </div>
              <ErrorBox error={pushAction.error} />
              <Progress state={push.state} title="Push" />
            </form>
          </div>
        </div>
      )}
    </div>
  );
}
