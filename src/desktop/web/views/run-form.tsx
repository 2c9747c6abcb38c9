// "Run container": image, name, command, ports, environment, volumes, network and restart policy → create and
// start (POST /api/run, which removes the container again when its start fails, e.g. a port already taken).
import { useState } from 'preact/hooks';
import type { ImageSummary, NetworkSummary } from '../../../client/types';
import { engine, json } from '../api';
import { go, href } from '../router';
import { buildCreateBody, checkName, RunForm as Fields } from '../run-spec';
import { ErrorBox, Modal, useLoad } from '../ui';

export default function RunForm(p: { onClose: () => void; image?: string }) {
  const [f, setF] = useState<Fields>({ image: p.image ?? '', name: '', command: '', ports: '', env: '', volumes: '', network: '', restart: 'no' });
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const images = useLoad(() => engine<ImageSummary[]>('GET', '/images/json'));
  const networks = useLoad(() => engine<NetworkSummary[]>('GET', '/networks'));
  const set = (k: keyof Fields) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    let config: Record<string, unknown>;
    try {
      checkName(f.name.trim());
      config = buildCreateBody(f);
    } catch (err) {
      setError((err as Error).message);
      return;
    }
    setBusy(true);
    try {
      const r = await json<{ Id: string }>('/api/run', { body: { name: f.name.trim(), config } });
      p.onClose();
      go(href('containers', r.Id));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const tags = (images.data ?? []).flatMap((i) => (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'));
  return (
    <Modal title="Run a container" onClose={p.onClose}>
      <form onSubmit={submit} data-testid="run-form">
        <div class="form">
          <label for="rf-image">Image</label>
          <input id="rf-image" name="image" list="rf-images" value={f.image} onInput={set('image')} placeholder="busybox:latest" autoFocus required />
          <datalist id="rf-images">{tags.map((t) => <option value={t} />)}</datalist>
          <label for="rf-name">Name</label>
          <input id="rf-name" name="name" value={f.name} onInput={set('name')} placeholder="(generated)" />
          <label for="rf-cmd">Command</label>
          <input id="rf-cmd" name="command" value={f.command} onInput={set('command')} placeholder="(the image's default)" />
          <label for="rf-ports">Ports</label>
          <input id="rf-ports" name="ports" value={f.ports} onInput={set('ports')} placeholder="8080:80, 127.0.0.1:5432:5432" />
          <div class="hint">hostPort:containerPort, comma separated, like docker run -p</div>
          <label for="rf-env">Environment</label>
          <textarea id="rf-env" name="env" rows={3} value={f.env} onInput={set('env')} placeholder={'KEY=value\nOTHER=1'} />
          <label for="rf-vol">Volumes</label>
          <textarea id="rf-vol" name="volumes" rows={2} value={f.volumes} onInput={set('volumes')} placeholder={'data:/var/lib/app\n/host/dir:/src:ro'} />
          <label for="rf-net">Network</label>
          <select id="rf-net" name="network" value={f.network} onChange={set('network')}>
            <option value="">default (bridge)</option>
            {(networks.data ?? []).filter((n) => n.Name !== 'bridge').map((n) => <option value={n.Name}>{n.Name}</option>)}
          </select>
          <label for="rf-restart">Restart</label>
          <select id="rf-restart" name="restart" value={f.restart} onChange={set('restart')}>
            <option value="no">no</option><option value="on-failure">on-failure</option>
            <option value="unless-stopped">unless-stopped</option><option value="always">always</option>
          </select>
        </div>
        <ErrorBox error={error} />
        <div class="buttons">
          <button type="button" onClick={p.onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy}>{busy ? 'Starting…' : 'Run'}</button>
        </div>
      </form>
    </Modal>
  );
}
