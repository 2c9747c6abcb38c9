// /networks: list (with Docker's filters), inspect, create, remove, prune, connect and disconnect.
import type { ApiServices } from '../services';
import { Router, parseFilters } from '../router';
import { withStatus } from '../server';
import { invalidParameter } from '../../common/errors';
import { matchKVList, parseTimestamp, validateFilters } from '../../storage/image-filters';
import type { CreateNetworkBody } from '../../network';
import type { EndpointConfigBody } from '../../engine/containers/engine';

const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];
const PRUNE_FILTERS = ['label', 'label!', 'until'];

interface NetworkItem { Name: string; Id: string; Driver: string; Scope: string; Labels: Record<string, string>; Created: string }
const BUILTIN = new Set(['bridge', 'host', 'none']);

/** Docker's network list filters; `inUse` answers dangling. */
function matches(n: NetworkItem, f: Record<string, string[]>, inUse: (id: string) => boolean): boolean {
  const any = (key: string, pred: (v: string) => boolean) => !f[key]?.length || f[key].some(pred);
  if (!any('driver', (v) => v === n.Driver)) return false;
  if (!any('id', (v) => n.Id.includes(v))) return false;
  if (!any('name', (v) => n.Name.includes(v))) return false;
  if (!any('scope', (v) => v === n.Scope)) return false;
  if (!matchKVList(f.label, n.Labels)) return false;
  if (f.type?.length) {
    for (const v of f.type) if (v !== 'custom' && v !== 'builtin') throw invalidParameter(`invalid filter: 'type'='${v}'`);
    if (!f.type.includes(BUILTIN.has(n.Name) ? 'builtin' : 'custom')) return false;
  }
  if (f.dangling?.length) {
    const v = f.dangling[0];
    if (!['true', '1', 'false', '0'].includes(v)) throw invalidParameter(`invalid filter 'dangling=${v}'`);
    const dangling = !BUILTIN.has(n.Name) && !inUse(n.Id);
    if ((v === 'true' || v === '1') !== dangling) return false;
  }
  return true;
}

export function networkRoutes(r: Router, d: ApiServices): void {
  const inUse = (id: string) => d.network.userNetworks().some((n) => n.id === id && n.inUse);

  r.add('GET', '/networks', (ctx) => {
    const f = parseFilters(ctx.query);
    validateFilters(f, LIST_FILTERS);
    return (d.network.listNetworks() as NetworkItem[]).filter((n) => matches(n, f, inUse));
  });
  r.add('GET', '/networks/{id}', (ctx) => {
    const scope = ctx.query.get('scope');
    const n = d.network.inspectNetwork(ctx.params.id) as NetworkItem;
    if (scope && scope !== n.Scope) throw invalidParameter(`network ${ctx.params.id} not found`);
    return n;
  });
  r.add('POST', '/networks/create', async (ctx) => {
    const body = (await ctx.body()) as CreateNetworkBody;
    const created = await d.network.createNetwork(body);
    d.events.emitEvent('network', 'create', created.Id, { name: String(body.Name), type: 'bridge' });
    return withStatus(201, created);
  });
  r.add('DELETE', '/networks/{id}', async (ctx) => {
    const gone = await d.network.removeNetwork(ctx.params.id);
    d.events.emitEvent('network', 'destroy', gone.id, { name: gone.name, type: 'bridge' });
  });
  r.add('POST', '/networks/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    validateFilters(f, PRUNE_FILTERS);
    if ((f.until?.length ?? 0) > 1) throw invalidParameter('more than one until filter specified');
    const until = f.until?.length ? parseTimestamp(f.until[0]) : undefined;
    const deleted: string[] = [];
    for (const n of d.network.userNetworks()) {
      if (n.inUse) continue;
      if (until !== undefined && Date.parse(n.created) >= until) continue;
      if (!matchKVList(f.label, n.labels)) continue;
      if (f['label!']?.length && f['label!'].some((v) => matchKVList([v], n.labels))) continue;
      try {
        const gone = await d.network.removeNetwork(n.id);
        d.events.emitEvent('network', 'destroy', gone.id, { name: gone.name, type: 'bridge' });
        deleted.push(gone.name);
      } catch { /* became used meanwhile: kept, as docker does */ }
    }
    d.events.emitEvent('network', 'prune', '', { reclaimed: '0' });
    return { NetworksDeleted: deleted.length ? deleted : null };
  });
  r.add('POST', '/networks/{id}/connect', async (ctx) => {
    const body = (await ctx.body()) as { Container?: unknown; EndpointConfig?: EndpointConfigBody | null } | null;
    if (!body || typeof body.Container !== 'string' || !body.Container) throw invalidParameter('container is required');
    const r = await d.containers.connectNetwork(ctx.params.id, body.Container, body.EndpointConfig);
    d.events.emitEvent('network', 'connect', r.id, { container: r.container, name: r.name, type: 'bridge' });
    return ''; // 200 with an empty body, as dockerd answers (not 204)
  });
  r.add('POST', '/networks/{id}/disconnect', async (ctx) => {
    const body = (await ctx.body()) as { Container?: unknown; Force?: unknown } | null;
    if (!body || typeof body.Container !== 'string' || !body.Container) throw invalidParameter('container is required');
    const r = await d.containers.disconnectNetwork(ctx.params.id, body.Container, body.Force === true);
    d.events.emitEvent('network', 'disconnect', r.id, { container: r.container, name: r.name, type: 'bridge' });
    return '';
  });
}
