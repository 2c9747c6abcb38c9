// /images/* routes for what the core needs: list, inspect, import (fromSrc), tag, remove.
// Pulling hands over to distribution.ts.
import { Readable } from 'stream';
import type { Daemon } from '../../daemon/daemon';
import { Router, boolParam, parseFilters } from '../router';
import { withStatus } from '../server';
import { pullRoute } from './distribution';
import { EngineError, invalidParameter, errorMessage } from '../../common/errors';

export function imageRoutes(r: Router, d: Daemon): void {
  r.add('GET', '/images/json', (ctx) => {
    const filters = parseFilters(ctx.query);
    // `all` (intermediate images) changes nothing: berth has no intermediate images before builds exist.
    return d.images.list()
      .filter((img) => {
        if (filters.dangling?.length) {
          const dangling = img.repoTags.length === 0;
          if (filters.dangling.includes('true') !== dangling) return false;
        }
        if (filters.reference?.length) {
          const globToRe = (g: string) => new RegExp('^' + g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.') + '$');
          if (!filters.reference.some((ref) => img.repoTags.some((t) => globToRe(ref.includes(':') ? ref : `${ref}:*`).test(t)))) return false;
        }
        if (filters.label?.length) {
          const labels: Record<string, string> = img.config?.config?.Labels ?? {};
          if (!filters.label.every((l) => { const i = l.indexOf('='); return i < 0 ? l in labels : labels[l.slice(0, i)] === l.slice(i + 1); })) return false;
        }
        return true;
      })
      .sort((a, b) => Date.parse(b.created) - Date.parse(a.created))
      .map((img) => d.images.toApiSummary(img));
  });

  r.add('GET', '/images/{name*}/json', (ctx) => d.images.toApiInspect(d.images.get(ctx.params.name)));

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
      containerUsing: (imageId: string) => {
        const users = d.containers.store.all().filter((c) => c.Image === imageId);
        const running = users.find((c) => c.State.Status === 'running' || c.State.Status === 'paused');
        const user = running ?? users[0];
        return user ? { id: user.Id, running: !!running } : undefined;
      },
    });
    return result;
  });
}
