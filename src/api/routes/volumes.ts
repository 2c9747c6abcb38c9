// /volumes: list (with docker's filters), create, inspect, remove, prune.
import type { ApiServices } from '../services';
import { Router, boolParam, parseFilters, compareVersions } from '../router';
import { withStatus } from '../server';
import { invalidParameter } from '../../common/errors';
import { volumeView, type CreateVolumeRequest } from '../../engine/volumes/store';
import { listFilter, pruneFilter } from '../../engine/volumes/filters';

export function volumeRoutes(r: Router, d: ApiServices): void {
  const v = d.volumes;
  const view = (name: string) => volumeView(v.get(name), v.dataPath(name));

  r.add('GET', '/volumes', (ctx) => {
    const match = listFilter(parseFilters(ctx.query), (name) => v.refsOf(name).length > 0);
    return { Volumes: v.list().filter(match).map((x) => view(x.Name)), Warnings: null };
  });
  r.add('POST', '/volumes/create', async (ctx) => {
    const body = await ctx.body();
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('invalid JSON: the request body must be a JSON object');
    const { volume } = await v.create(body as CreateVolumeRequest);
    return withStatus(201, view(volume.Name));
  });
  r.add('GET', '/volumes/{name}', (ctx) => view(ctx.params.name));
  r.add('DELETE', '/volumes/{name}', async (ctx) => {
    await v.remove(ctx.params.name, boolParam(ctx.query, 'force'));
  });
  r.add('POST', '/volumes/prune', async (ctx) => {
    const { all, match } = pruneFilter(parseFilters(ctx.query), compareVersions(ctx.apiVersion, '1.42') < 0);
    return v.prune(all, match);
  });
}
