// The client side of the Engine API's connection hijack (attach, exec start) on a plain socket: write the
// `Connection: Upgrade` / `Upgrade: tcp` request, read the answer's head, and on `101` hand back the socket with
// the bytes that came after the head. Done on node:net rather than node:http: under Bun the http client costs
// ~8 ms of CPU on its first request, a socket ~4; on Node it is lighter too.
import type * as net from 'net';

/** The parsed head of an HTTP/1.x response. */
export interface ResponseHead {
  status: number;
  statusMessage: string;
  /** lower-cased names; repeated headers joined with ", " */
  headers: Record<string, string>;
}

/** Parses "HTTP/1.1 101 UPGRADED\r\nName: value\r\n…" (without the blank line). */
export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`malformed HTTP response ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: parseInt(m[1], 10), statusMessage: m[2] ?? '', headers };
}

/** Decodes a complete chunked body; undefined while the terminating chunk has not arrived. */
export function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (Number.isNaN(size)) throw new Error('malformed chunked encoding');
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < eol + 2 + size + 2) return undefined;
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
}

export interface Upgraded { socket: net.Socket; head: Buffer; mediaType: string }

/**
 * Sends `request` (head and body, already serialised) on `socket` and resolves once the answer's head arrived:
 * `upgraded` for a 101, otherwise the head and the complete body of the refusal. As with node:http's 'upgrade'
 * event the socket keeps flowing: the consumer attaches its 'data' listener as soon as the promise resolves
 * (a microtask, before any further read can be delivered).
 */
export function upgrade(socket: net.Socket, request: string): Promise<{ upgraded: Upgraded } | { refused: ResponseHead; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let head: ResponseHead | undefined;
    let bodyStart = 0;
    const finishRefusal = (ended: boolean) => {
      const h = head!;
      const raw = buf.subarray(bodyStart);
      let body: Buffer | undefined;
      if (h.headers['transfer-encoding']?.includes('chunked')) body = dechunk(raw);
      else if (h.headers['content-length'] !== undefined) {
        const n = parseInt(h.headers['content-length'], 10);
        if (raw.length >= n) body = raw.subarray(0, n);
      } else if (ended) body = raw;
      if (body === undefined && ended) body = raw;
      if (body !== undefined) { cleanup(); socket.destroy(); resolve({ refused: h, body }); }
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!head) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        try {
          head = parseResponseHead(buf.subarray(0, end).toString('latin1'));
        } catch (err) {
          cleanup(); socket.destroy(); reject(err); return;
        }
        bodyStart = end + 4;
        if (head.status === 101) {
          cleanup();
          resolve({ upgraded: { socket, head: buf.subarray(bodyStart), mediaType: head.headers['content-type'] ?? '' } });
          return;
        }
      }
      finishRefusal(false);
    };
    const onEnd = () => {
      if (head) finishRefusal(true);
      else { cleanup(); reject(Object.assign(new Error('EOF'), { code: 'ECONNRESET' })); }
    };
    const onError = (err: Error) => { cleanup(); reject(err); };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      // errors after this belong to the consumer; until it listens, one must not crash the process
      socket.on('error', () => undefined);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.write(request);
  });
}
