// /images/* routes: list, inspect, history, import (fromSrc), save/load, tag, remove, prune.
// Pull (fromImage) and push are in distribution.ts.
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import type { ApiServices } from '../services';
import { Router, boolParam, parseFilters, compareVersions } from '../router';
import { withStatus } from '../server';
import { pullRoute } from './distribution';
import { EngineError, invalidParameter, errorMessage, conflict } from '../../common/errors';
import { log } from '../../common/log';
import type { Context } from '../router';
import type { ImageStore, ImageRecord, DeleteItem, ContainerUsing } from '../../storage';
import { imageHistory, inspectForApiVersion, listImages, loadImages, planSave, pruneCandidates } from '../../storage';

export function imageRoutes(r: Router, d: ApiServices): void {
  r.add('GET', '/images/json', (ctx) => {
    const list = listImages(d.images.list(), { all: boolParam(ctx.query, 'all'), filters: parseFilters(ctx.query) }, {
      get: (ref) => d.images.get(ref),
      ...(boolParam(ctx.query, 'shared-size') ? { sharedSize: sharedSizes(d.images) } : {}),
    });
    // VirtualSize went away in API 1.44
    return compareVersions(ctx.apiVersion, '1.44') < 0 ? list.map((s) => ({ ...s, VirtualSize: s.Size })) : list;
  });

  // docker save: one name (GET /images/{name}/get) or several (GET /images/get?names=a&names=b)
  r.add('GET', '/images/get', (ctx) => saveImages(ctx, d, ctx.query.getAll('names')));
  r.add('GET', '/images/{name*}/get', (ctx) => saveImages(ctx, d, [ctx.params.name]));

  r.add('POST', '/images/load', async (ctx) => {
    const quiet = boolParam(ctx.query, 'quiet', true);
    const res = ctx.res!;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const write = (m: object) => { if (!res.destroyed) res.write(JSON.stringify(m) + '\r\n'); };
    try {
      await loadImages(d.images, ctx.stream(), {
        onProgress: quiet ? undefined : write,
        onOutput: (line) => write({ stream: line }),
      });
    } catch (err) {
      const message = errorMessage(err);
      if (!(err instanceof EngineError) || err.status >= 500) log.warn('image load failed', { error: message });
      write({ errorDetail: { message }, error: message });
    }
    res.end();
  });

  r.add('GET', '/images/{name*}/history', (ctx) => imageHistory(d.images.get(ctx.params.name), {
    layerSize: (chainId) => d.images.layerSize(chainId),
    image: (id) => d.images.tryGet(id),
  }));

  let pruning = false;
  r.add('POST', '/images/prune', async (ctx) => {
    if (pruning) throw conflict('a prune operation is already running');
    pruning = true;
    try {
      const images = d.images.list();
      const candidates = pruneCandidates(images, parseFilters(ctx.query));
      const sizes = new Map<string, number>();
      for (const img of images) for (const c of img.chainIds) sizes.set(c, d.images.layerSize(c) ?? 0);
      const deleted: DeleteItem[] = [];
      for (const c of candidates) {
        for (const name of c.names) {
          try {
            deleted.push(...await d.images.remove(name, { force: false, noPrune: false, containerUsing: containerUsing(d) }));
          } catch (err) {
            // in use, or gone with an earlier name: skipped, as docker does
            if (!(err instanceof EngineError && (err.status === 409 || err.status === 404))) log.warn('failed to prune image', { image: name, error: errorMessage(err) });
          }
        }
      }
      let reclaimed = 0;
      for (const item of deleted) if (item.Deleted) reclaimed += sizes.get(item.Deleted) ?? 0;
      d.events.emitEvent('image', 'prune', '', { reclaimed: String(reclaimed) });
      return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
    } finally {
      pruning = false;
    }
  });

  r.add('GET', '/images/{name*}/json', (ctx) => {
    const img = d.images.get(ctx.params.name);
    // docker-compose 1.29 (docker-py at the daemon's API version) reads ContainerConfig, which API 1.45 dropped:
    // it fails to recreate any container on Docker 25+ (KeyError: 'ContainerConfig'). berth keeps it working by
    // answering that client with the 1.44 shape; every other client gets its own version's.
    const legacyClient = /^docker-compose\/1\./.test(String(ctx.req.headers['user-agent'] ?? ''));
    const version = legacyClient && compareVersions(ctx.apiVersion, '1.44') > 0 ? '1.44' : ctx.apiVersion;
    return inspectForApiVersion(img, d.images.toApiInspect(img), version);
  });

  r.add('POST', '/images/create', async (ctx) => {
    const q = ctx.query;
    const fromSrc = q.get('fromSrc');
    if (fromSrc === null) {
      const name = q.get('fromImage') ?? '';
      if (!name) throw invalidParameter('fromImage or fromSrc is required');
      return pullRoute(ctx, d, name);
    }
    let input: NodeJS.ReadableStream;
    if (fromSrc === '-') input = ctx.stream();
    else if (/^https?:\/\//.test(fromSrc)) {
      const resp = await fetch(fromSrc).catch((e) => { throw invalidParameter(`error downloading ${fromSrc}: ${errorMessage(e)}`); });
      if (!resp.ok || !resp.body) throw invalidParameter(`error downloading ${fromSrc}: ${resp.status} ${resp.statusText}`);
      input = Readable.fromWeb(resp.body as import('stream/web').ReadableStream);
    } else throw invalidParameter(`fromSrc must be "-" or a URL: ${fromSrc}`);
    const repo = q.get('repo') ?? '';
    const tag = q.get('tag') ?? '';
    const reference = repo ? (tag ? `${repo}:${tag}` : repo) : undefined;
    const res = ctx.res!;
    // Validate before streaming so a bad reference gets a plain 400.
    const img = await d.images.importTar(input, { reference, changes: q.getAll('changes'), message: q.get('message') ?? undefined, platform: q.get('platform') ?? undefined });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: img.id }) + '\r\n');
  });

  r.add('POST', '/images/{name*}/tag', async (ctx) => {
    const repo = ctx.query.get('repo') ?? '';
    const tag = ctx.query.get('tag') ?? '';
    if (!repo) throw invalidParameter('repository name must have at least one component');
    const target = tag ? `${repo}:${tag}` : repo;
    await d.images.tag(ctx.params.name, target);
    return withStatus(201, {});
  });

  r.add('DELETE', '/images/{name*}', async (ctx) => {
    const result = await d.images.remove(ctx.params.name, {
      force: boolParam(ctx.query, 'force'), noPrune: boolParam(ctx.query, 'noprune'),
      containerUsing: containerUsing(d),
    });
    return result;
  });
}

/** Who uses an image: a running container if any, else a stopped one (rmi and prune conflicts). */
export function containerUsing(d: ApiServices): ContainerUsing {
  return (imageId: string) => {
    const users = [...d.containers.store.all(), ...d.containers.store.foreign()].filter((c) => c.Image === imageId);
    const running = users.find((c) => c.State.Status === 'running' || c.State.Status === 'paused');
    const user = running ?? users[0];
    return user ? { id: user.Id, running: !!running } : undefined;
  };
}

/** SharedSize: bytes of this image's layers that other images also use. */
export function sharedSizes(store: ImageStore): (img: ImageRecord) => number {
  const refs = new Map<string, number>();
  for (const img of store.list()) for (const c of new Set(img.chainIds)) refs.set(c, (refs.get(c) ?? 0) + 1);
  return (img) => {
    let shared = 0;
    for (const c of img.chainIds) if ((refs.get(c) ?? 0) > 1) shared += store.layerSize(c) ?? 0;
    return shared;
  };
}

/** Streams the archive; everything that can fail before the first byte fails as a plain HTTP error. */
async function saveImages(ctx: Context, d: ApiServices, names: string[]): Promise<void> {
  const items = d.images.resolveSaveNames(names);
  const plan = await planSave(d.images, items);
  const res = ctx.res!;
  try {
    res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Content-Length': plan.size });
    for (const { image } of items) d.events.emitEvent('image', 'save', image.id, { name: image.id });
    await pipeline(Readable.from(plan.stream(), { objectMode: false, highWaterMark: 4 << 20 }), res);
  } catch (err) {
    // a client that stops reading (`save | head`) is no failure of ours
    const gone = res.destroyed || /premature close|EPIPE|ECONNRESET/i.test(`${(err as NodeJS.ErrnoException).code ?? ''} ${errorMessage(err)}`);
    (gone ? log.debug : log.warn)('image save ended early', { error: errorMessage(err) });
    res.destroy();
  } finally {
    await plan.close();
  }
}
