// /api/logs/<id>: a container's log as lines for the log view — stdcopy demultiplexed on the server (or the raw
// stream of a TTY container), split into lines, each line prefixed by its stream ('1' stdout, '2' stderr) and
// the engine's RFC 3339 timestamp, so the page can toggle timestamps and colour stderr without asking again.
// With download=1 the same log comes back as a file, the way `docker logs [-t]` prints it.
import type { IncomingMessage, ServerResponse } from 'http';
import { Client, StdcopyDemuxer } from '../../client';
import { attachment, HttpError, sendError } from './http-util';

/** Splits a byte stream into lines; a line longer than `max` is cut so one runaway line cannot eat memory. */
export class LineSplitter {
  private rest = '';
  private readonly decoder = new TextDecoder('utf-8');
  constructor(private readonly onLine: (line: string) => void, private readonly max = 256 << 10) {}

  push(chunk: Buffer): void {
    const text = this.rest + this.decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
      this.onLine(text.slice(start, i > start && text[i - 1] === '\r' ? i - 1 : i));
      start = i + 1;
    }
    this.rest = text.slice(start);
    while (this.rest.length > this.max) { this.onLine(this.rest.slice(0, this.max)); this.rest = this.rest.slice(this.max); }
  }

  flush(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}

export async function streamLogs(client: Client, req: IncomingMessage, res: ServerResponse, id: string, params: URLSearchParams): Promise<void> {
  const download = params.get('download') === '1';
  const follow = !download && params.get('follow') === '1';
  const tail = params.get('tail') || 'all';
  if (tail !== 'all' && !/^\d+$/.test(tail)) return sendError(res, new HttpError(400, `invalid tail value ${JSON.stringify(tail)}`));
  let upstream: IncomingMessage;
  let tty: boolean;
  let name: string;
  try {
    const info = await client.containerInspect(id);
    tty = !!info.Config?.Tty;
    name = (info.Name ?? id).replace(/^\//, '');
    upstream = await client.containerLogs(id, {
      stdout: '1', stderr: '1', timestamps: download && params.get('timestamps') !== '1' ? '0' : '1',
      follow: follow ? '1' : undefined, tail,
    });
  } catch (err) {
    return sendError(res, err);
  }
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff',
    ...(download ? { 'Content-Disposition': attachment(`${name}.log`) } : {}),
  });
  res.socket?.setNoDelay(true);
  res.on('close', () => upstream.destroy());
  const out = download ? (chunk: Buffer) => { res.write(chunk); } : undefined;
  const stdout = new LineSplitter((l) => res.write('1' + l + '\n'));
  const stderr = new LineSplitter((l) => res.write('2' + l + '\n'));
  const demux = new StdcopyDemuxer(out ?? ((b) => stdout.push(b)), out ?? ((b) => stderr.push(b)));
  upstream.on('data', (c: Buffer) => {
    if (tty) { if (out) out(c); else stdout.push(c); return; }
    try { demux.push(c); } catch (err) { res.write(`2${new Date().toISOString()} [berth desktop] ${(err as Error).message}\n`); upstream.destroy(); }
  });
  upstream.on('end', () => { stdout.flush(); stderr.flush(); res.end(); });
  upstream.on('error', () => res.end());
  req.on('close', () => upstream.destroy());
}
