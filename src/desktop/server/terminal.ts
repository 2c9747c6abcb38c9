// The exec terminal: a websocket from the page bridged to a hijacked exec stream (POST /containers/{id}/exec
// with a TTY, then POST /exec/{id}/start upgraded to a raw stream). Binary frames carry the terminal's bytes
// both ways; text frames carry control messages: {"type":"resize","cols","rows"} from the page, and
// {"type":"exit","code"} or {"type":"error","message"} to it. The shell is bash when the image has it, else sh.
import type { IncomingMessage } from 'http';
import type { WebSocket } from 'ws';
import { Client } from '../../client';

/** One command that picks bash when present: a single exec, so the terminal opens in one round trip. */
export const SHELL_CMD = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh; fi'];

function clampSize(v: string | null, def: number, max: number): number {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : def;
}

export async function bridgeTerminal(client: Client, ws: WebSocket, req: IncomingMessage): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const id = url.searchParams.get('id') ?? '';
  let cols = clampSize(url.searchParams.get('cols'), 80, 1000);
  let rows = clampSize(url.searchParams.get('rows'), 24, 1000);
  const control = (msg: object) => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg)); };
  // input that arrives while the exec starts is kept and sent once the stream is up
  const early: Buffer[] = [];
  let socket: import('net').Socket | undefined;
  let execId = '';
  let closed = false;
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (socket) socket.write(buf); else early.push(buf);
      return;
    }
    let msg: { type?: string; cols?: number; rows?: number };
    try { msg = JSON.parse(String(data)); } catch { return; }
    if (msg.type === 'resize') {
      cols = clampSize(String(msg.cols), cols, 1000);
      rows = clampSize(String(msg.rows), rows, 1000);
      if (execId) client.execResize(execId, rows, cols).catch(() => undefined);
    }
  });
  ws.on('close', () => { closed = true; socket?.destroy(); });
  try {
    if (!id) throw new Error('no container given');
    const created = await client.execCreate(id, {
      AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true,
      Cmd: SHELL_CMD, Env: ['TERM=xterm-256color'], ConsoleSize: [rows, cols],
    });
    execId = created.Id;
    const h = await client.execStartHijack(execId, { Detach: false, Tty: true, ConsoleSize: [rows, cols] });
    socket = h.socket;
    if (closed) { socket.destroy(); return; }
    if (h.head.length) ws.send(h.head, { binary: true });
    socket.on('data', (c: Buffer) => { if (ws.readyState === ws.OPEN) ws.send(c, { binary: true }); });
    for (const b of early.splice(0)) socket.write(b);
    client.execResize(execId, rows, cols).catch(() => undefined);
    socket.on('close', async () => {
      let code: number | null = null;
      try { code = (await client.execInspect(execId)).ExitCode ?? null; } catch { /* the container may be gone */ }
      control({ type: 'exit', code });
      ws.close(1000, 'exited');
    });
    socket.on('error', () => undefined);
  } catch (err) {
    control({ type: 'error', message: (err as Error).message.replace(/^Error response from daemon: /, '') });
    ws.close(1011, 'exec failed');
  }
}
