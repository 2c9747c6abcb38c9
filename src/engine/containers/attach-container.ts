// Attach: a hijacked client connection joined to the container's shim (relay in attach.ts); a client that comes
// before the start is joined before the process runs, so it sees the first output. And a TTY's resize.
import type { Duplex } from 'stream';
import { conflict, invalidParameter } from '../../common/errors';
import type { Shim } from '../../runtime/shim';
import { relay, parseDetachKeys } from './attach';
import type { EngineCore } from './core';

/**
 * Joins a hijacked client connection to the container. Before start, the client is queued and joined
 * to the shim before the process runs, so no output is missed.
 */
export async function attach(core: EngineCore, ref: string, client: Duplex, q: { stdin: boolean; stdout: boolean; stderr: boolean; detachKeys?: string }): Promise<void> {
  const rec = core.store.get(ref);
  const keys = parseDetachKeys(q.detachKeys);
  const opts = {
    tty: rec.Config.Tty, stdin: q.stdin && rec.Config.OpenStdin, stdout: q.stdout, stderr: q.stderr, detachKeys: keys,
    onStdinEnd: () => {
      // Docker closes the process's stdin when an attached client ends it, for StdinOnce without a TTY.
      if (rec.Config.StdinOnce && !rec.Config.Tty) void core.live.get(rec.Id)?.shim?.closeStdin().catch(() => undefined);
    },
  };
  const join = async (shim: Shim) => {
    const conn = await shim.attach();
    const how = await relay(client, conn, opts);
    if (how === 'detached') core.event(rec, 'detach');
  };
  const live = core.liveOf(rec.Id);
  if (live.shim) return join(live.shim);
  if (rec.State.Status === 'created' || rec.State.Status === 'exited') {
    // Not running yet: wait for the next start (docker run attaches before it starts the container).
    return new Promise<void>((resolve) => {
      const entry = (shim: Shim) => { join(shim).then(resolve, () => { client.destroy(); resolve(); }); };
      live.pendingAttach.push(entry);
      client.on('close', () => {
        const i = live.pendingAttach.indexOf(entry);
        if (i >= 0) { live.pendingAttach.splice(i, 1); resolve(); }
      });
    });
  }
  throw conflict('You cannot attach to a stopped container, start it first');
}

/** A TTY's new size (POST /containers/{id}/resize). */
export async function resize(core: EngineCore, ref: string, rows: number, cols: number): Promise<void> {
  const rec = core.store.get(ref);
  const shim = core.live.get(rec.Id)?.shim;
  if (!shim || !core.isRunning(rec)) throw conflict(`Container ${rec.Id} is not running`);
  if (!Number.isFinite(rows) || !Number.isFinite(cols) || rows < 0 || cols < 0) throw invalidParameter('invalid height or width');
  await shim.resize(rows, cols);
}
