// Builds: build an image from a Dockerfile (typed or uploaded), and the recent builds with their logs —
// followed live while a build runs.
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, json, readLines } from '../api';
import { go, href } from '../router';
import { Empty, ErrorBox, useLoad } from '../ui';

interface Build { id: string; tag: string; started: number; finished?: number; status: 'running' | 'succeeded' | 'failed'; error?: string; imageId?: string; lineCount: number }

const SAMPLE = 'FROM busybox\nRUN echo built by berth desktop > /hello.txt\nCMD ["cat", "/hello.txt"]\n';

function BuildLog(p: { id: string; onEnd: () => void }) {
  const [lines, setLines] = useState<string[]>([]);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const ctl = new AbortController();
    const all: string[] = [];
    setLines([]);
    call(`/api/builds/${p.id}/log?follow=1`, { signal: ctl.signal })
      .then((res) => readLines(res, (ls) => { all.push(...ls); setLines([...all]); }, ctl.signal))
      .then(p.onEnd, () => undefined);
    return () => ctl.abort();
  }, [p.id]);
  useEffect(() => { if (box.current) box.current.scrollTop = box.current.scrollHeight; }, [lines.length]);
  // plain text nodes only: build output is never markup
  return <pre class="json" ref={box} style={{ maxHeight: '55vh', minHeight: '160px' }} data-testid="build-log">{lines.map((l) => (l.startsWith('ERROR') ? <span style={{ color: '#fca5a5' }}>{l + '\n'}</span> : l + '\n'))}</pre>;
}

export default function BuildsView(p: { id?: string }) {
  const builds = useLoad(() => json<Build[]>('/api/builds'));
  const [dockerfile, setDockerfile] = useState(SAMPLE);
  const [tag, setTag] = useState('');
  const [noCache, setNoCache] = useState(false);
  const [error, setError] = useState<string>();
  const current = p.id ?? builds.data?.[0]?.id;

  async function start(e: Event) {
    e.preventDefault();
    setError(undefined);
    try {
      const b = await json<Build>('/api/builds', { body: { dockerfile, tag: tag.trim(), noCache } });
      builds.reload();
      go(href('builds', b.id));
    } catch (err) {
      setError((err as Error).message);
    }
  }
  const load = async (e: Event) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) setDockerfile(await f.text());
  };
  const sel = builds.data?.find((b) => b.id === current);

  return (
    <div class="page" data-view="builds">
      <div class="head"><h1>Builds</h1><span class="sub">classic builder, from a Dockerfile</span></div>
      <div class="split" style={{ gridTemplateColumns: 'minmax(360px, 480px) 1fr' }}>
        <form class="card" style={{ padding: '12px' }} onSubmit={start} data-testid="build-form">
          <div class="form" style={{ gridTemplateColumns: '90px 1fr' }}>
            <label for="b-tag">Tag</label>
            <input id="b-tag" value={tag} onInput={(e) => setTag((e.target as HTMLInputElement).value)} placeholder="me/app:1.0" />
            <label for="b-df">Dockerfile</label>
            <textarea id="b-df" rows={10} value={dockerfile} onInput={(e) => setDockerfile((e.target as HTMLTextAreaElement).value)} spellcheck={false} />
            <span />
            <div class="toolbar" style={{ margin: '0px' }}>
              <label class="btn">Upload Dockerfile<input type="file" style={{ display: 'none' }} onChange={load} /></label>
              <label class="check"><input type="checkbox" checked={noCache} onChange={(e) => setNoCache((e.target as HTMLInputElement).checked)} />no cache</label>
              <span class="spacer" />
              <button class="primary">Build</button>
            </div>
          </div>
          <ErrorBox error={error} />
        </form>
        <div>
          <div class="card">
            <table class="grid" data-testid="builds-table">
              <thead><tr><th>Tag</th><th>Status</th><th>Started</th><th class="num">Duration</th></tr></thead>
              <tbody>{(builds.data ?? []).map((b) => (
                <tr class={b.id === current ? 'sel' : ''} data-build={b.id}>
                  <td><a href={href('builds', b.id)}>{b.tag || <span class="muted">(untagged)</span>}</a></td>
                  <td><span class="status"><span class={`dot ${b.status === 'succeeded' ? 'running' : b.status === 'running' ? 'restarting' : 'dead'}`} />{b.status}</span></td>
                  <td class="muted">{new Date(b.started).toLocaleTimeString()}</td>
                  <td class="num">{b.finished ? `${((b.finished - b.started) / 1000).toFixed(1)} s` : '…'}</td>
                </tr>
              ))}</tbody>
            </table>
            {builds.data && builds.data.length === 0 && <Empty>No builds yet in this dashboard session.</Empty>}
          </div>
          {sel && <><h2>Log of {sel.tag || sel.id}</h2>{sel.error && <ErrorBox error={sel.error} />}<BuildLog id={sel.id} onEnd={builds.reload} /></>}
        </div>
      </div>
    </div>
  );
}
