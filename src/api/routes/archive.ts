// /containers/{id}/archive (HEAD, GET, PUT) and /containers/{id}/export: HTTP in, ContainerArchive calls out.
// Tars stream both ways; a GET's headers (with the path's stat) go out before the first byte of the tar, so an
// error after that can only cut the stream, as with dockerd.
import type { ServerResponse } from 'http';
import type { ApiServices } from '../services';
import { Router, boolParam } from '../router';
import { commonHeaders } from '../server';
import { encodePathStat } from '../../engine/containers/archive';
import { EngineError } from '../../common/errors';

/** The client hung up: no one to answer, nothing to log as a failure (a status below 500 is not logged). */
const gone = () => new EngineError(499, 'client went away');

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** A writer for the archive code: resolves once the response took the buffer, so it may be reused. */
function responseWriter(res: ServerResponse): (b: Buffer) => Promise<void> {
  return (b) => new Promise((resolve, reject) => {
    if (res.destroyed) { reject(gone()); return; }
    res.write(b, (err) => (err ? reject(gone()) : resolve()));
  });
}

/** Aborted when the client goes before the response is complete. */
function clientGone(res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.on('close', () => { if (!res.writableFinished) ac.abort(); });
  return ac.signal;
}

export function archiveRoutes(r: Router, d: ApiServices): void {
  const archive = () => d.containers.archive;

  // Before GET: the router would otherwise answer HEAD with the GET handler.
  r.add('HEAD', '/containers/{id}/archive', async (ctx) => {
    const stat = await archive().stat(ctx.params.id, ctx.query.get('path') ?? '');
    ctx.res!.writeHead(200, { ...commonHeaders(), [STAT_HEADER]: encodePathStat(stat) });
    ctx.res!.end();
  });

  r.add('GET', '/containers/{id}/archive', async (ctx) => {
    const res = ctx.res!;
    const out = await archive().get(ctx.params.id, ctx.query.get('path') ?? '');
    try {
      res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/x-tar', [STAT_HEADER]: encodePathStat(out.stat) });
    } catch (err) {
      await out.cancel();
      throw err;
    }
    await out.send(responseWriter(res), clientGone(res));
    res.end();
  });

  r.add('PUT', '/containers/{id}/archive', async (ctx) => {
    await archive().put(ctx.params.id, ctx.query.get('path') ?? '', ctx.stream() as AsyncIterable<Uint8Array>, {
      noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir'),
      copyUIDGID: boolParam(ctx.query, 'copyUIDGID'),
    });
    ctx.res!.writeHead(200, { ...commonHeaders(), 'Content-Length': 0 });
    ctx.res!.end();
  });

  r.add('GET', '/containers/{id}/export', async (ctx) => {
    const res = ctx.res!;
    const out = await archive().export(ctx.params.id);
    try {
      res.writeHead(200, { ...commonHeaders(), 'Content-Type': 'application/x-tar' });
    } catch (err) {
      await out.cancel();
      throw err;
    }
    await out.send(responseWriter(res), clientGone(res));
    res.end();
  });
}
