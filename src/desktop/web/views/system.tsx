// System: engine information and disk usage (system df) with a prune button per kind.
import { useState } from 'preact/hooks';
import type { DiskUsage, VersionResponse } from '../../../client/types';
import { engine, json, q } from '../api';
import { bytes } from '../format';
import { ConfirmButton, ErrorBox, useAction, useLoad } from '../ui';

export default function SystemView() {
  const info = useLoad(() => engine<Record<string, unknown>>('GET', '/info'));
  const version = useLoad(() => engine<VersionResponse>('GET', '/version'));
  const df = useLoad(() => engine<DiskUsage>('GET', '/system/df'));
  const status = useLoad(() => json<{ engineHost: string }>('/api/status'));
  const prune = useAction();
  const [msg, setMsg] = useState<string>();

  const d = df.data;
  const images = d?.Images ?? [];
  const containers = d?.Containers ?? [];
  const volumes = d?.Volumes ?? [];
  const cache = d?.BuildCache ?? [];
  const rows = [
    { kind: 'Images', count: images.length, active: images.filter((i) => (i.Containers ?? 0) > 0).length, size: d?.LayersSize ?? images.reduce((n, i) => n + (i.Size ?? 0), 0), reclaim: images.filter((i) => (i.Containers ?? 0) <= 0).reduce((n, i) => n + (i.Size ?? 0) - (i.SharedSize && i.SharedSize > 0 ? i.SharedSize : 0), 0), prune: () => engine('POST', `/images/prune${q({ filters: JSON.stringify({ dangling: ['false'] }) })}`) },
    { kind: 'Containers', count: containers.length, active: containers.filter((c) => c.State === 'running').length, size: containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0), reclaim: containers.filter((c) => c.State !== 'running').reduce((n, c) => n + (c.SizeRw ?? 0), 0), prune: () => engine('POST', '/containers/prune') },
    { kind: 'Local volumes', count: volumes.length, active: volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length, size: volumes.reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0), reclaim: volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + Math.max(0, v.UsageData?.Size ?? 0), 0), prune: () => engine('POST', `/volumes/prune${q({ filters: JSON.stringify({ all: ['true'] }) })}`) },
    { kind: 'Build cache', count: cache.length, active: cache.filter((c) => c.InUse).length, size: cache.reduce((n, c) => n + c.Size, 0), reclaim: cache.filter((c) => !c.InUse).reduce((n, c) => n + c.Size, 0), prune: () => engine('POST', '/build/prune') },
  ];
  const doPrune = (kind: string, fn: () => Promise<unknown>) => prune.run(async () => {
    const r = await fn() as { SpaceReclaimed?: number };
    setMsg(`${kind}: reclaimed ${bytes(r?.SpaceReclaimed ?? 0)}`);
    df.reload();
  });

  const i = info.data ?? {};
  const v = version.data;
  const cards: Array<[string, unknown]> = [
    ['Engine', `${v?.Platform?.Name ?? 'engine'} ${v?.Version ?? ''}`], ['API version', v?.ApiVersion], ['Address', status.data?.engineHost],
    ['Operating system', i.OperatingSystem], ['Kernel', i.KernelVersion], ['CPUs / memory', `${i.NCPU ?? '?'} · ${bytes(Number(i.MemTotal ?? 0))}`],
    ['Containers', `${i.Containers ?? 0} (${i.ContainersRunning ?? 0} running, ${i.ContainersPaused ?? 0} paused, ${i.ContainersStopped ?? 0} stopped)`],
    ['Images', i.Images], ['Storage driver', i.Driver], ['Runtime', i.DefaultRuntime], ['Cgroups', `${i.CgroupVersion ?? '?'} · ${i.CgroupDriver ?? ''}`],
    ['Data root', i.DockerRootDir],
  ];
  return (
    <div class="page" data-view="system">
      <div class="head"><h1>System</h1></div>
      <ErrorBox error={info.error ?? df.error ?? prune.error} />
      <div class="kv" data-testid="info">
        {cards.map(([k, val]) => <div class="card"><div class="k">{k}</div><div class="v">{val === undefined || val === '' ? '—' : String(val)}</div></div>)}
      </div>
      <h2>Disk usage</h2>
      {msg && <div class="okbox">{msg}</div>}
      <div class="card">
        <table class="grid" data-testid="df">
          <thead><tr><th>Type</th><th class="num">Total</th><th class="num">Active</th><th class="num">Size</th><th class="num">Reclaimable</th><th /></tr></thead>
          <tbody>{rows.map((r) => (
            <tr data-kind={r.kind}>
              <td>{r.kind}</td><td class="num">{r.count}</td><td class="num">{r.active}</td><td class="num">{bytes(r.size)}</td>
              <td class="num">{bytes(r.reclaim)}{r.size > 0 ? <span class="muted"> ({Math.round((r.reclaim / r.size) * 100)}%)</span> : null}</td>
              <td class="actions"><ConfirmButton class="small" disabled={prune.busy} onConfirm={() => doPrune(r.kind, r.prune)} confirmText="Prune?">Prune</ConfirmButton></td>
            </tr>
          ))}</tbody>
        </table>
      </div>
    </div>
  );
}
