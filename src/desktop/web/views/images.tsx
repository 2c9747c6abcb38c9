// Images: the list with in-use marks, pull with per-layer progress, push, tag, remove, prune, history and run.
import { useState } from 'preact/hooks';
import type { ContainerSummary, ImageHistoryItem, ImageSummary } from '../../../client/types';
import { engine, q } from '../api';
import { ago, bytes, shortId } from '../format';
import { ConfirmButton, Empty, ErrorBox, Modal, lazyView, useAction, useLoad } from '../ui';
import { Progress, useProgress } from './progress';

const RunForm = lazyView(() => import('./run-form'));

/** "name[:tag]" → fromImage and tag as POST /images/create wants them. */
export function splitRef(ref: string): { name: string; tag?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), tag: ref.slice(at + 1) };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { name: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { name: ref };
}

function History(p: { image: ImageSummary; onClose: () => void }) {
  const h = useLoad(() => engine<ImageHistoryItem[]>('GET', `/images/${encodeURIComponent(p.image.Id)}/history`));
  return (
    <Modal title={`History of ${p.image.RepoTags?.[0] ?? shortId(p.image.Id)}`} onClose={p.onClose} wide>
      <ErrorBox error={h.error} />
      <div class="card" style={{ maxHeight: '60vh', overflow: 'auto' }}>
        <table class="grid" data-testid="history">
          <thead><tr><th>Layer</th><th>Created</th><th>Created by</th><th class="num">Size</th></tr></thead>
          <tbody>{(h.data ?? []).map((x) => (
            <tr><td class="mono">{x.Id === '<missing>' ? '<missing>' : shortId(x.Id)}</td><td class="muted">{ago(x.Created)}</td>
              <td class="mono" title={x.CreatedBy} style={{ maxWidth: '460px' }}>{x.CreatedBy}</td><td class="num">{bytes(x.Size)}</td></tr>
          ))}</tbody>
        </table>
      </div>
      <div class="buttons"><button onClick={p.onClose}>Close</button></div>
    </Modal>
  );
}

function TagForm(p: { image: ImageSummary; onClose: () => void; onDone: () => void }) {
  const [target, setTarget] = useState('');
  const a = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const { name, tag } = splitRef(target.trim());
    a.run(() => engine('POST', `/images/${encodeURIComponent(p.image.Id)}/tag${q({ repo: name, tag })}`)).then((ok) => { if (ok) { p.onDone(); p.onClose(); } });
  };
  return (
    <Modal title={`Tag ${p.image.RepoTags?.[0] ?? shortId(p.image.Id)}`} onClose={p.onClose}>
      <form onSubmit={submit}>
        <div class="form"><label for="tag-target">New tag</label><input id="tag-target" value={target} onInput={(e) => setTarget((e.target as HTMLInputElement).value)} placeholder="127.0.0.1:5000/team/app:1.0" autoFocus /></div>
        <ErrorBox error={a.error} />
        <div class="buttons"><button type="button" onClick={p.onClose}>Cancel</button><button class="primary" disabled={a.busy || !target.trim()}>Tag</button></div>
      </form>
    </Modal>
  );
}

export default function ImagesView() {
  const images = useLoad(() => engine<ImageSummary[]>('GET', '/images/json'));
  const users = useLoad(() => engine<ContainerSummary[]>('GET', '/containers/json?all=1'));
  const [ref, setRef] = useState('');
  const pull = useProgress();
  const push = useProgress();
  const [pushing, setPushing] = useState('');
  const [errors, setErrors] = useState(new Map<string, string>());
  const [history, setHistory] = useState<ImageSummary>();
  const [tagging, setTagging] = useState<ImageSummary>();
  const [running, setRunning] = useState<string>();
  const [filter, setFilter] = useState('');
  const prune = useAction();
  const [pruned, setPruned] = useState<string>();

  const inUse = new Map<string, number>();
  for (const c of users.data ?? []) if (c.ImageID) inUse.set(c.ImageID, (inUse.get(c.ImageID) ?? 0) + 1);
  const reload = () => { images.reload(); users.reload(); };

  async function doPull(e: Event) {
    e.preventDefault();
    const r = ref.trim();
    if (!r) return;
    const { name, tag } = splitRef(r);
    if (await pull.start(`/images/create${q({ fromImage: name, tag: tag ?? 'latest' })}`)) reload();
  }
  async function doPush(tag: string) {
    setPushing(tag);
    const { name, tag: t } = splitRef(tag);
    await push.start(`/images/${name.split('/').map(encodeURIComponent).join('/')}/push${q({ tag: t })}`);
  }
  async function remove(img: ImageSummary, force: boolean) {
    try {
      await engine('DELETE', `/images/${encodeURIComponent(img.Id)}${q({ force: force ? 1 : undefined })}`);
      setErrors((m) => { const n = new Map(m); n.delete(img.Id); return n; });
      reload();
    } catch (err) {
      setErrors((m) => new Map(m).set(img.Id, (err as Error).message));
    }
  }
  const doPrune = (all: boolean) => prune.run(async () => {
    const r = await engine<{ ImagesDeleted?: unknown[] | null; SpaceReclaimed?: number }>('POST', `/images/prune${all ? q({ filters: JSON.stringify({ dangling: ['false'] }) }) : ''}`);
    setPruned(`Removed ${r.ImagesDeleted?.length ?? 0} images, reclaimed ${bytes(r.SpaceReclaimed ?? 0)}`);
    reload();
  });

  const list = (images.data ?? []).filter((i) => !filter || (i.RepoTags ?? []).join(' ').includes(filter) || i.Id.includes(filter));
  return (
    <div class="page" data-view="images">
      <div class="head">
        <h1>Images</h1><span class="sub">{images.data?.length ?? 0} images · {bytes((images.data ?? []).reduce((n, i) => n + (i.Size ?? 0), 0))}</span>
        <span class="spacer" />
        <ConfirmButton onConfirm={() => doPrune(false)} confirmText="Prune dangling?">Prune dangling</ConfirmButton>
        <ConfirmButton onConfirm={() => doPrune(true)} confirmText="Remove all unused?">Prune unused</ConfirmButton>
      </div>
      <form class="toolbar" onSubmit={doPull}>
        <input class="search" style={{ width: '320px' }} placeholder="Pull an image: registry:5000/name:tag" value={ref} onInput={(e) => setRef((e.target as HTMLInputElement).value)} aria-label="image to pull" />
        <button class="primary" disabled={pull.state.running || !ref.trim()}>Pull</button>
        <span class="spacer" />
        <input type="search" placeholder="Filter" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} aria-label="filter images" />
      </form>
      <Progress state={pull.state} title={`Pull ${ref}`} />
      <Progress state={push.state} title={`Push ${pushing}`} />
      <ErrorBox error={images.error ?? prune.error} />
      {pruned && <div class="okbox">{pruned}</div>}
      <div class="card">
        <table class="grid" data-testid="images-table">
          <thead><tr><th>Repository:tag</th><th>Image ID</th><th>Created</th><th class="num">Size</th><th>In use</th><th /></tr></thead>
          <tbody>
            {list.flatMap((img) => {
              const tags = (img.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
              const used = inUse.get(img.Id) ?? 0;
              return [
                <tr data-image={tags[0] ?? img.Id}>
                  <td>{tags.length ? tags.map((t) => <div>{t}</div>) : <span class="muted">&lt;none&gt;</span>}</td>
                  <td class="mono">{shortId(img.Id)}</td>
                  <td class="muted">{ago(img.Created)}</td>
                  <td class="num">{bytes(img.Size)}</td>
                  <td>{used ? <span class="badge green" data-testid="in-use">in use · {used}</span> : <span class="muted">unused</span>}</td>
                  <td class="actions">
                    <button class="small" onClick={() => setRunning(tags[0] ?? img.Id)}>Run</button>{' '}
                    <button class="small" onClick={() => setTagging(img)}>Tag</button>{' '}
                    {tags.length > 0 && <button class="small" disabled={push.state.running} onClick={() => doPush(tags[0])}>Push</button>}{' '}
                    <button class="small" onClick={() => setHistory(img)}>History</button>{' '}
                    <ConfirmButton class="small" onConfirm={() => remove(img, used > 0 || tags.length > 1)} confirmText={used ? 'Force remove?' : 'Remove?'}>Remove</ConfirmButton>
                  </td>
                </tr>,
                errors.get(img.Id) ? <tr class="rowerr"><td colSpan={6} role="alert">{errors.get(img.Id)}</td></tr> : null,
              ];
            })}
          </tbody>
        </table>
        {images.data && list.length === 0 && <Empty>No images. Pull one, or build one in Builds.</Empty>}
      </div>
      {history && <History image={history} onClose={() => setHistory(undefined)} />}
      {tagging && <TagForm image={tagging} onClose={() => setTagging(undefined)} onDone={reload} />}
      {running && <RunForm image={running} onClose={() => setRunning(undefined)} />}
    </div>
  );
}
