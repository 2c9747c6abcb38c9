// stop, kill and restart: a signal (the container's StopSignal, SIGTERM by default), then SIGKILL after the
// timeout; a stop by the user (or a killing signal) keeps restart policies from starting the container again.
import { conflict, notModified } from '../../common/errors';
import type { EngineCore } from './core';
import { unpauseQuiet } from './pause';
import { parseSignal } from './signals';
import type { ContainerRecord } from './types';

export async function stop(core: EngineCore, ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
  const rec = core.store.get(ref);
  // Set first: it also cancels a restart that a restart policy has pending for an exited container.
  rec.StoppedByUser = true;
  if (rec.State.Status === 'restarting') {
    // stopping a container in its restart back-off cancels the restart
    rec.State.Status = 'exited';
    await core.store.save(rec);
    core.event(rec, 'stop');
    return;
  }
  if (!core.isRunning(rec)) {
    await core.store.save(rec);
    throw notModified();
  }
  const sig = parseSignal(opts.signal || rec.Config.StopSignal || 'SIGTERM');
  const timeout = opts.timeout ?? rec.Config.StopTimeout ?? 10;
  await terminate(core, rec, sig, timeout);
  core.event(rec, 'stop');
}

/** Sends `sig`, waits up to `timeoutSec` (negative: forever), then SIGKILL; resolves once the exit is handled. */
async function terminate(core: EngineCore, rec: ContainerRecord, sig: number, timeoutSec: number): Promise<void> {
  const live = core.live.get(rec.Id);
  const exited = live?.exitHandled ?? Promise.resolve();
  if (rec.State.Status === 'paused') await unpauseQuiet(core, rec);
  core.signal(rec, sig);
  if (sig !== 9) {
    const timedOut = timeoutSec < 0 ? new Promise<boolean>(() => {}) : new Promise<boolean>((r) => setTimeout(() => r(true), timeoutSec * 1000).unref());
    const done = await Promise.race([exited.then(() => false), timedOut]);
    if (!done) return;
    if (core.isRunning(rec)) core.signal(rec, 9);
  }
  await exited;
}

export async function kill(core: EngineCore, ref: string, signal?: string): Promise<void> {
  const rec = core.store.get(ref);
  const sig = parseSignal(signal, 'SIGKILL');
  if (!core.isRunning(rec)) throw conflict(`Cannot kill container: ${ref}: Container ${rec.Id} is not running`);
  // A killing signal is a deliberate stop: restart policies leave the container down.
  if (sig === 9 || sig === 15 || sig === 2) rec.StoppedByUser = true;
  if (rec.State.Status === 'paused' && sig === 9) await unpauseQuiet(core, rec);
  core.signal(rec, sig);
  core.event(rec, 'kill', { signal: String(sig) });
  if (sig === 9) await core.live.get(rec.Id)?.exitHandled;
}

/** `start`: the engine's user start (start.ts), which this one ends with. */
export async function restart(core: EngineCore, start: (id: string) => Promise<void>, ref: string, timeout?: number): Promise<void> {
  const rec = core.store.get(ref);
  if (core.isRunning(rec)) {
    rec.StoppedByUser = true;
    await terminate(core, rec, parseSignal(rec.Config.StopSignal || 'SIGTERM'), timeout ?? rec.Config.StopTimeout ?? 10);
  }
  await start(rec.Id);
  core.event(rec, 'restart');
}
