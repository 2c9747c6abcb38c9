// Browsing a container's or a volume's files through the archive endpoints: directories open in place,
// files and folders download (a folder as a tar), and files upload into the open directory of a container.
import { Icon } from '../icons';
import { useState } from 'preact/hooks';
import { call, json, q } from '../api';
import { bytes } from '../format';
import { Empty, ErrorBox, useLoad } from '../ui';

interface Entry { name: string; type: 'dir' | 'file' | 'link' | 'other'; size: number; mode: number; mtime: string; linkTarget?: string }

function modeString(mode: number, type: Entry['type']): string {
  const c = type === 'dir' ? 'd' : type === 'link' ? 'l' : '-';
  let s = '';
  for (let i = 8; i >= 0; i--) s += mode & (1 << i) ? 'rwx'[(8 - i) % 3] : '-';
  return c + s;
}

export function FilesView(p: { target: { container: string } | { volume: string } }) {
  const [path, setPath] = useState('/');
  const [upload, setUpload] = useState<{ busy: boolean; error?: string; done?: string }>({ busy: false });
  const who = 'container' in p.target ? { container: p.target.container } : { volume: p.target.volume };
  const list = useLoad(() => json<{ path: string; entries: Entry[]; truncated: boolean }>(`/api/files/list${q({ ...who, path })}`), [path, JSON.stringify(who)]);
  const parts = path.split('/').filter(Boolean);
  const join = (name: string) => (path === '/' ? '' : path) + '/' + name;

  async function send(e: Event) {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file || !('container' in p.target)) return;
    setUpload({ busy: true });
    try {
      await call(`/api/files/upload${q({ container: p.target.container, path, name: file.name })}`, { method: 'PUT', raw: file, headers: { 'Content-Type': 'application/octet-stream' } });
      setUpload({ busy: false, done: `${file.name} uploaded to ${path}` });
      list.reload();
    } catch (err) {
      setUpload({ busy: false, error: (err as Error).message });
    } finally {
      input.value = '';
    }
  }

  return (
    <div style={{ overflow: 'auto' }} data-testid="files">
      <div class="toolbar">
        <div class="crumbs">
          <a href="#" onClick={(e) => { e.preventDefault(); setPath('/'); }}>/</a>
          {parts.map((x, i) => <><a href="#" onClick={(e) => { e.preventDefault(); setPath('/' + parts.slice(0, i + 1).join('/')); }}>{x}</a><span class="muted">/</span></>)}
        </div>
        <span class="spacer" />
        <a class="btn" href={`/api/files/download${q({ ...who, path })}`}>Download folder (.tar)</a>
        {'container' in p.target && <label class="btn">{upload.busy ? 'Uploading…' : 'Upload file'}<input type="file" style={{ display: 'none' }} onChange={send} data-testid="upload" /></label>}
      </div>
      <ErrorBox error={list.error ?? upload.error} />
      {upload.done && <div class="okbox">{upload.done}</div>}
      {list.data?.truncated && <div class="banner info">This folder is large: the listing stopped after 256 MB of its archive and may be incomplete.</div>}
      {list.data && (list.data.entries.length === 0 ? <Empty>Empty folder.</Empty> : (
        <div class="card">
          <table class="grid">
            <thead><tr><th>Name</th><th class="num">Size</th><th>Mode</th><th>Modified</th><th /></tr></thead>
            <tbody>
              {path !== '/' && <tr><td colSpan={5}><a href="#" onClick={(e) => { e.preventDefault(); setPath('/' + parts.slice(0, -1).join('/')); }}>..</a></td></tr>}
              {list.data.entries.map((en) => (
                <tr data-file={en.name}>
                  <td>{en.type === 'dir'
                    ? <a href="#" onClick={(e) => { e.preventDefault(); setPath(join(en.name)); }}><Icon name="folder" /> {en.name}</a>
                    : <span class="status"><Icon name={en.type === 'link' ? 'link' : 'file'} />{en.name}{en.linkTarget ? <span class="muted"> → {en.linkTarget}</span> : null}</span>}</td>
                  <td class="num">{en.type === 'file' ? bytes(en.size) : ''}</td>
                  <td class="mono">{modeString(en.mode, en.type)}</td>
                  <td class="muted">{en.mtime ? new Date(en.mtime).toLocaleString() : ''}</td>
                  <td class="actions">{en.type !== 'other' && <a class="btn" style={{ height: '22px' }} href={`/api/files/download${q({ ...who, path: join(en.name) })}`}>Download</a>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}
