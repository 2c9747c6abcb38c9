// /containers/* and /exec/* routes: HTTP in, engine calls out.
import { promises as fs } from 'fs';
import type { ApiServices } from '../services';
import { Router, boolParam, intParam, parseFilters, compareVersions } from '../router';
import { withStatus, commonHeaders } from '../server';
import { EngineError, invalidParameter, notFound } from '../../common/errors';
import { listItem, inspectView } from '../../engine/containers/views';
import { readLogs } from '../../engine/containers/logfile';
import { frame } from '../../engine/containers/attach';
import { top } from '../../engine/containers/top';
import type { ContainerRecord } from '../../engine/containers/types';
import { matchKVList, parseTimestamp, validateFilters } from '../../storage/image-filters';
import { dirSize } from '../../common/dir-size';
import { archiveRoutes } from './archive';

const streamType = (tty: boolean, apiVersion: string) =>
  !tty && compareVersions(apiVersion, '1.42') >= 0 ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';

/** Docker's --since/--until values: unix seconds with optional fraction. */
function timeParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '' || v === '0') return undefined;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidParameter(`invalid value for "${name}": ${v}`);
  return t / 1000;
}

/** A `name` filter is a regular expression (as docker's). One that does not compile is the client's error: 400 with
 * Go's wording, never a SyntaxError answered with 500. Long patterns are refused: a name is at most 255 characters,
 * and a huge pattern only costs the daemon time. */
function filterRegExp(v: string): RegExp {
  if (v.length > 1024) throw invalidParameter('error parsing regexp: expression too large');
  try { return new RegExp(v); } catch (err) { throw invalidParameter(`error parsing regexp: ${(err as Error).message}`); }
}

function matchesFilters(d: ApiServices, rec: ContainerRecord, f: Record<string, string[]>): boolean {
  for (const [key, values] of Object.entries(f)) {
    if (!values.length) continue;
    const any = (pred: (v: string) => boolean) => values.some(pred);
    switch (key) {
      case 'status': if (!any((v) => v === rec.State.Status)) return false; break;
      case 'name': if (!any((v) => { const re = filterRegExp(v); return re.test(rec.Name.slice(1)) || re.test(rec.Name); })) return false; break;
      case 'id': if (!any((v) => rec.Id.startsWith(v))) return false; break;
      // every label filter must hold (filters.MatchKVList), unlike the other keys where one value is enough
      case 'label': if (!matchKVList(values, rec.Config.Labels ?? undefined)) return false; break;
      case 'ancestor': if (!any((v) => {
        const img = d.images.tryGet(v);
        return img ? img.id === rec.Image : rec.ImageRef === v;
      })) return false; break;
      case 'exited': if (!(rec.State.Status === 'exited' && any((v) => Number(v) === rec.State.ExitCode))) return false; break;
      case 'health': if (!any((v) => v === (rec.State.Health?.Status ?? 'none'))) return false; break;
      case 'network': if (!any((v) => v === rec.HostConfig.NetworkMode || (rec.Networks ?? []).some((n) => n.network === v))) return false; break;
      case 'before': case 'since': {
        const other = d.containers.store.tryGet(values[0]);
        if (!other) return false;
        const cmp = Date.parse(rec.Created) - Date.parse(other.Created);
        if (key === 'before' ? cmp >= 0 : cmp <= 0) return false;
        break;
      }
      default: throw invalidParameter(`invalid filter '${key}'`);
    }
  }
  return true;
}

/**
 * `start` then `logs` at once (docker-py's tests, scripts): berth's start returns within a few milliseconds, before a
 * quick command (`ls`) has had its turn on the CPU; dockerd's start takes tens of milliseconds, so its logs already
 * hold that output. A logs request in the first moments after a start waits until the container has written
 * something, has exited, or START_SETTLE_MS have passed since it started; later requests never wait.
 */
const START_SETTLE_MS = 500;
async function settleAfterStart(c: ApiServices['containers'], rec: { Id: string; State: { Status: string; StartedAt: string } }): Promise<void> {
  const deadline = Date.parse(rec.State.StartedAt) + START_SETTLE_MS;
  const logFile = c.paths.log(rec.Id);
  while (rec.State.Status === 'running' && Date.now() < deadline) {
    if (((await fs.stat(logFile).catch(() => undefined))?.size ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function containerRoutes(r: Router, d: ApiServices): void {
  const c = d.containers;

  r.add('POST', '/containers/prune', async (ctx) => {
    const f = parseFilters(ctx.query);
    validateFilters(f, ['until', 'label', 'label!']);
    if ((f.until?.length ?? 0) > 1) throw invalidParameter('more than one until filter specified');
    const until = f.until?.length ? parseTimestamp(f.until[0]) : undefined;
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const rec of c.store.all()) {
      if (!['exited', 'created', 'dead'].includes(rec.State.Status)) continue;
      if (until !== undefined && Date.parse(rec.Created) >= until) continue;
      if (!matchKVList(f.label, rec.Config.Labels)) continue;
      if (f['label!']?.length && f['label!'].some((v) => matchKVList([v], rec.Config.Labels))) continue;
      const size = await dirSize(c.paths.rootfs(rec.Id).upper).catch(() => 0);
      try {
        await c.remove(rec.Id, { force: false });
        deleted.push(rec.Id);
        reclaimed += size;
      } catch { /* started or removed meanwhile: skipped, as docker does */ }
    }
    d.events.emitEvent('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  });
  r.add('POST', '/containers/create', async (ctx) => withStatus(201, await c.create(await ctx.body(), ctx.query.get('name') ?? undefined)));

  r.add('GET', '/containers/json', (ctx) => {
    const all = boolParam(ctx.query, 'all');
    const limit = intParam(ctx.query, 'limit') ?? -1;
    const filters = parseFilters(ctx.query);
    // the CRI server's pods and containers are listed too (read-only here: they stay under the CRI's control)
    let list = [...c.store.all(), ...c.store.foreign()]
      .filter((rec) => all || limit > 0 || rec.State.Status === 'running' || rec.State.Status === 'paused' || rec.State.Status === 'restarting' || filters.status?.length)
      .filter((rec) => matchesFilters(d, rec, filters))
      // newest first; the times parsed once each, not in every comparison (200 containers: ~3000 parses)
      .map((rec) => ({ rec, at: Date.parse(rec.Created) }))
      .sort((a, b) => b.at - a.at)
      .map((e) => e.rec);
    if (limit > 0) list = list.slice(0, limit);
    return list.map((rec) => listItem(rec, d.network));
  });

  r.add('GET', '/containers/{id}/json', (ctx) => {
    const rec = c.store.tryGet(ctx.params.id) ?? c.store.tryGetForeign(ctx.params.id) ?? c.store.get(ctx.params.id);
    return inspectView(rec, c.paths, d.network, d.execs.idsFor(rec.Id));
  });

  r.add('POST', '/containers/{id}/start', async (ctx) => { await c.start(ctx.params.id); });
  r.add('POST', '/containers/{id}/stop', async (ctx) => {
    await c.stop(ctx.params.id, { timeout: intParam(ctx.query, 't'), signal: ctx.query.get('signal') ?? undefined });
  });
  r.add('POST', '/containers/{id}/restart', async (ctx) => { await c.restart(ctx.params.id, intParam(ctx.query, 't')); });
  r.add('POST', '/containers/{id}/kill', async (ctx) => { await c.kill(ctx.params.id, ctx.query.get('signal') ?? undefined); });
  r.add('POST', '/containers/{id}/pause', async (ctx) => { await c.pause(ctx.params.id); });
  r.add('POST', '/containers/{id}/unpause', async (ctx) => { await c.unpause(ctx.params.id); });
  r.add('POST', '/containers/{id}/rename', async (ctx) => { await c.rename(ctx.params.id, ctx.query.get('name') ?? ''); });
  r.add('POST', '/containers/{id}/resize', async (ctx) => {
    await c.resize(ctx.params.id, intParam(ctx.query, 'h') ?? 0, intParam(ctx.query, 'w') ?? 0);
    return '';
  });
  r.add('DELETE', '/containers/{id}', async (ctx) => {
    await c.remove(ctx.params.id, { force: boolParam(ctx.query, 'force'), volumes: boolParam(ctx.query, 'v') });
  });
  // `docker rm --link /web/db`: the link's name is the container's name and the alias; only link=1 removes a link
  r.add('DELETE', '/containers/{id}/{alias}', async (ctx) => {
    if (!boolParam(ctx.query, 'link')) throw notFound(`No such container: ${ctx.params.id}/${ctx.params.alias}`);
    await c.removeLink(ctx.params.id, ctx.params.alias);
  });
  r.add('GET', '/containers/{id}/top', (ctx) => top(c.store.get(ctx.params.id), ctx.query.get('ps_args') || undefined));

  // docker diff: null (not []) when nothing changed, as dockerd answers
  r.add('GET', '/containers/{id}/changes', async (ctx) => {
    const changes = await c.changes(ctx.params.id);
    return changes.length ? changes : null;
  });

  r.add('POST', '/commit', async (ctx) => {
    const q = ctx.query;
    const container = q.get('container') ?? '';
    if (!container) throw invalidParameter('invalid name or ID supplied: ""');
    const image = await c.commit(container, {
      repo: q.get('repo') ?? '', tag: q.get('tag') ?? '', comment: q.get('comment') ?? '', author: q.get('author') ?? '',
      pause: boolParam(q, 'pause', true), changes: q.getAll('changes'), config: await ctx.body(),
    });
    return withStatus(201, { Id: image.id });
  });

  r.add('POST', '/containers/{id}/update', async (ctx) => c.update(ctx.params.id, await ctx.body()));

  r.add('GET', '/containers/{id}/stats', async (ctx) => {
    const rec = c.store.get(ctx.params.id);
    const stream = boolParam(ctx.query, 'stream', true);
    const oneShot = compareVersions(ctx.apiVersion, '1.41') >= 0 && boolParam(ctx.query, 'one-shot');
    if (stream && oneShot) throw invalidParameter('cannot have stream=true and one-shot=true');
    const res = ctx.res!;
    res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/json' });
    if (stream) res.flushHeaders();
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    await c.stats.run(rec, { stream, oneShot }, (json) => { res.write(json); }, abort.signal);
    res.end();
  });

  r.add('POST', '/containers/{id}/wait', async (ctx) => {
    // A client gone (`docker run -d` asks for a wait and exits) ends the wait, as its context does dockerd's.
    const abort = new AbortController();
    const waiting = c.wait(ctx.params.id, ctx.query.get('condition') || 'not-running', abort.signal);
    // Like dockerd: headers go out at once, so a client knows the wait is registered before it starts the container.
    const res = ctx.res!;
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': ctx.apiVersion });
    res.flushHeaders();
    const result = await waiting.catch((err) => { if (abort.signal.aborted) return undefined; throw err; });
    if (!result) return;
    res.end(JSON.stringify({ StatusCode: result.StatusCode, ...(result.Error ? { Error: result.Error } : {}) }) + '\n');
  });

  r.add('POST', '/containers/{id}/attach', async (ctx) => {
    const rec = c.store.get(ctx.params.id);
    const q = ctx.query;
    if (!boolParam(q, 'stream') && !boolParam(q, 'logs')) throw invalidParameter('Bad parameters: you must choose at least one stream');
    const opts = { stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr'), detachKeys: q.get('detachKeys') ?? undefined };
    const sock = ctx.hijack(streamType(rec.Config.Tty, ctx.apiVersion));
    if (boolParam(q, 'logs')) {
      await readLogs(c.paths.log(rec.Id), { stdout: opts.stdout, stderr: opts.stderr, follow: false }, (e) => {
        sock.write(rec.Config.Tty ? e.log : frame(e.stream === 'stderr' ? 2 : 1, e.log));
      }, undefined, new AbortController().signal);
    }
    if (!boolParam(q, 'stream')) { sock.end(); return; }
    await c.attach(rec.Id, sock, opts);
  });

  r.add('GET', '/containers/{id}/logs', async (ctx) => {
    const rec = c.store.get(ctx.params.id);
    if ((rec.HostConfig.LogConfig as { Type?: string } | undefined)?.Type === 'none') throw new EngineError(501, 'configured logging driver does not support reading');
    const q = ctx.query;
    const stdout = boolParam(q, 'stdout'); const stderr = boolParam(q, 'stderr');
    if (!stdout && !stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
    const tailRaw = q.get('tail');
    const tail = !tailRaw || tailRaw === 'all' ? undefined : parseInt(tailRaw, 10);
    if (tailRaw && tailRaw !== 'all' && Number.isNaN(tail)) throw invalidParameter(`invalid value for "tail": ${tailRaw}`);
    const follow = boolParam(q, 'follow');
    const timestamps = boolParam(q, 'timestamps');
    await settleAfterStart(c, rec);
    const res = ctx.res!;
    res.writeHead(200, { 'Content-Type': streamType(rec.Config.Tty, ctx.apiVersion), 'Api-Version': ctx.apiVersion });
    res.flushHeaders();
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const running = rec.State.Status === 'running' || rec.State.Status === 'paused';
    // (the waiter goes with the client; readLogs ends on the abort itself)
    const stopped = follow && running ? c.wait(rec.Id, 'not-running', abort.signal).catch(() => undefined) : undefined;
    await readLogs(c.paths.log(rec.Id), { stdout, stderr, follow, tail, since: timeParam(q, 'since'), until: timeParam(q, 'until') }, (e) => {
      const text = timestamps ? `${e.time} ${e.log}` : e.log;
      res.write(rec.Config.Tty ? text : frame(e.stream === 'stderr' ? 2 : 1, text));
    }, stopped, abort.signal);
    res.end();
  });

  // ---- exec
  r.add('POST', '/containers/{id}/exec', async (ctx) => withStatus(201, d.execs.create(ctx.params.id, await ctx.body())));

  r.add('POST', '/exec/{id}/start', async (ctx) => {
    const body = (await ctx.body()) as { Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null };
    const ex = d.execs.get(ctx.params.id);
    if (body.Detach) {
      await d.execs.start(ctx.params.id, { detach: true, tty: body.Tty, consoleSize: body.ConsoleSize });
      return '';
    }
    const tty = body.Tty ?? !!ex.config.Tty;
    const sock = ctx.hijack(streamType(tty, ctx.apiVersion));
    await d.execs.start(ctx.params.id, { detach: false, tty, consoleSize: body.ConsoleSize }, sock);
  });
  r.add('POST', '/exec/{id}/resize', async (ctx) => {
    await d.execs.resize(ctx.params.id, intParam(ctx.query, 'h') ?? 0, intParam(ctx.query, 'w') ?? 0);
    return '';
  });
  r.add('GET', '/exec/{id}/json', (ctx) => d.execs.inspect(ctx.params.id));

  // ---- cp and export
  archiveRoutes(r, d);
}
