// POST /build (the classic builder) and POST /build/prune, GET /system/df's BuildCache part. The context tar is
// streamed into a private temp dir (never held in memory); the builder's output goes out as docker's JSON stream.
import { promises as fs } from 'fs';
import type { ApiServices } from '../services';
import { Router, boolParam } from '../router';
import { EngineError, errorMessage, invalidParameter, conflict } from '../../common/errors';
import { log } from '../../common/log';
import { BuildCache } from '../../build/cache';
import { Builder, BuildStepError, parseBuildTags, prepareContext } from '../../build/builder';
import { pullImage } from '../../engine/images/pull';
import { containerUsing } from './images';
import type { ProgressSink } from '../../engine/images/progress';

const caches = new WeakMap<ApiServices, Promise<BuildCache>>();

/** The daemon's build cache index, opened on first use. */
export function buildCache(d: ApiServices): Promise<BuildCache> {
  let c = caches.get(d);
  if (!c) {
    c = (async () => {
      const dir = `${d.options.dataRoot}/build`;
      const cache = await BuildCache.open(dir);
      // scratch dirs of builds a crash interrupted (nothing else uses them: no build has started yet)
      for (const name of await fs.readdir(dir)) {
        if (name.startsWith('tmp-')) await fs.rm(`${dir}/${name}`, { recursive: true, force: true }).catch(() => undefined);
      }
      return cache;
    })();
    caches.set(d, c);
  }
  return c;
}

function jsonParam<T>(q: URLSearchParams, name: string): T | undefined {
  const v = q.get(name);
  if (!v) return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    throw invalidParameter(`invalid ${name} parameter: ${v}`);
  }
}

/** One extrahosts value: "host:ip" or "host:ip,host2:ip2" (docker-py repeats the parameter), or JSON. */
function extraHostsParam(v: string): string[] {
  if (!v) return [];
  if (/^[[{]/.test(v)) {
    let parsed: unknown;
    try { parsed = JSON.parse(v); } catch { throw invalidParameter(`invalid extrahosts parameter: ${v}`); }
    if (Array.isArray(parsed)) return parsed.map(String);
    if (parsed && typeof parsed === 'object') return Object.entries(parsed).map(([h, ip]) => `${h}:${String(ip)}`);
  }
  return v.split(',').filter(Boolean);
}

export function buildRoutes(r: Router, d: ApiServices): void {
  r.add('POST', '/build', async (ctx) => {
    const q = ctx.query;
    const tags = q.getAll('t').filter((t) => t !== '');
    parseBuildTags(tags); // a bad tag is a plain 400 before the context is read
    const dockerfile = q.get('dockerfile') || 'Dockerfile';
    // a client that stops reading (closes the connection) cancels the build, as with dockerd
    const abort = new AbortController();
    ctx.res!.on('close', () => { if (!ctx.res!.writableFinished) abort.abort(); });
    const remote = q.get('remote');
    if (remote) throw invalidParameter('remote build contexts are not supported by berth; send the context as a tar');
    const opts = {
      dockerfile, tags,
      buildArgs: jsonParam<Record<string, string | null>>(q, 'buildargs'),
      labels: jsonParam<Record<string, string>>(q, 'labels'),
      target: q.get('target') || undefined,
      noCache: boolParam(q, 'nocache'),
      pull: boolParam(q, 'pull'),
      rm: q.get('rm') === null ? true : boolParam(q, 'rm'),
      forceRm: boolParam(q, 'forcerm'),
      networkMode: q.get('networkmode') || undefined,
      platform: q.get('platform') || undefined,
      cacheFrom: jsonParam<string[]>(q, 'cachefrom'),
      signal: abort.signal,
      extraHosts: q.getAll('extrahosts').flatMap(extraHostsParam),
    };
    const quiet = boolParam(q, 'q');
    const cache = await buildCache(d);
    const tmpDir = await fs.mkdtemp(`${d.options.dataRoot}/build/tmp-`);
    const res = ctx.res!;
    const send = (m: object) => { if (!res.destroyed) res.write(JSON.stringify(m) + '\r\n'); };
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'Content-Type': 'application/json' });
    };
    try {
      await fs.mkdir(`${tmpDir}/context`);
      const { text } = await prepareContext(ctx.stream() as AsyncIterable<Uint8Array>, `${tmpDir}/context`, dockerfile);
      const out = {
        stream: (s: string) => { if (!quiet) { start(); send({ stream: s }); } },
        aux: (v: unknown) => { start(); send({ aux: v }); },
      };
      // pull progress goes into the same stream (docker's classic builder shows it too)
      const pullSink: ProgressSink = {
        status: (status, id) => { if (!quiet) { start(); send({ status, ...(id ? { id } : {}) }); } },
        note: (status, id) => { if (!quiet) { start(); send({ status, id }); } },
        bytes: () => undefined,
        aux: () => undefined,
      };
      const builder = new Builder({
        images: d.images, cache, tmpDir,
        // transient: a build cut by a daemon crash leaves no step container behind (test/faults)
        create: (body) => d.containers.create(body, undefined, { transient: opts.rm !== false }),
        attach: (id, client, aq) => d.containers.attach(id, client, aq),
        start: (id) => d.containers.start(id),
        wait: (id, c) => d.containers.wait(id, c),
        commitForBuild: (id, config, createdBy) => d.containers.commitForBuild(id, config, createdBy),
        remove: (id) => d.containers.remove(id, { force: true }),
        pull: async (ref, platform) => { await pullImage(d.images, ref, pullSink, { platform, insecureRegistries: d.options.insecureRegistries }); },
      }, `${tmpDir}/context`, text, opts, out);
      const img = await builder.build();
      if (quiet) { start(); send({ stream: `${img.id}\n` }); }
    } catch (err) {
      const message = errorMessage(err);
      // before anything was said, a plain HTTP error (as dockerd answers a bad Dockerfile)
      if (!started) throw err;
      if (!(err instanceof EngineError) || err.status >= 500) log.warn('build failed', { error: message });
      const code = err instanceof BuildStepError ? err.code : undefined;
      send({ errorDetail: { ...(code !== undefined ? { code } : {}), message }, error: message });
    } finally {
      await fs.rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    }
    start();
    res.end();
  });

  let pruning = false;
  r.add('POST', '/build/prune', async (ctx) => {
    if (pruning) throw conflict('a prune operation is already running');
    pruning = true;
    try {
      const cache = await buildCache(d);
      const all = boolParam(ctx.query, 'all');
      void all; // the classic builder's cache is its intermediate images: every entry is prunable
      const entries = cache.list();
      let reclaimed = 0;
      const ids = new Set(entries.map(([, e]) => e.id));
      // remove images from the newest down: an image with children cannot go before them
      let progress = true;
      while (progress) {
        progress = false;
        for (const id of [...ids]) {
          const img = d.images.tryGet(id);
          if (!img) { ids.delete(id); continue; }
          if (img.repoTags.length) { ids.delete(id); continue; }
          const size = ownLayerSize(d, img.id);
          try {
            await d.images.remove(id, { force: false, noPrune: true, containerUsing: containerUsing(d) });
            ids.delete(id);
            reclaimed += size;
            progress = true;
          } catch (err) {
            if (!(err instanceof EngineError && (err.status === 409 || err.status === 404))) throw err;
          }
        }
      }
      // entries whose image is kept (tagged or still a parent) go too: the cache forgets them
      await cache.remove(entries.map(([k]) => k));
      return { CachesDeleted: entries.length ? entries.map(([k]) => k) : null, SpaceReclaimed: reclaimed };
    } finally {
      pruning = false;
    }
  });
}

/** GET /system/df BuildCache items. */
export async function buildCacheUsage(d: ApiServices): Promise<unknown[]> {
  const cache = await buildCache(d);
  return cache.list().map(([key, e]) => {
    return {
      ID: key.replace(/^sha256:/, '').slice(0, 25), Parents: e.parent ? [e.parent] : null, Type: 'regular',
      Description: e.description, InUse: false, Shared: false, Size: ownLayerSize(d, e.id),
      CreatedAt: e.created, LastUsedAt: e.lastUsed, UsageCount: e.usageCount,
    };
  });
}

/** Bytes of the layer a step added: none for a config-only step (its top layer is its parent's). */
function ownLayerSize(d: ApiServices, id: string): number {
  const img = d.images.tryGet(id);
  if (!img) return 0;
  const history = img.config.history ?? [];
  if (history.length && history[history.length - 1].empty_layer) return 0;
  const top = img.chainIds[img.chainIds.length - 1];
  return top ? d.images.layerSize(top) ?? 0 : 0;
}
