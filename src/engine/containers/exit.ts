// A container's exit: seen through its shim, recorded (OOM kill, exit code, finish time), its resources released,
// waiters woken, then --rm removal or the restart policy with Docker's doubling back-off.
import { errorMessage } from '../../common/errors';
import { log } from '../../common/log';
import { failpoint } from '../../common/failpoint';
import type { ExitStatus, Shim } from '../../runtime/shim';
import { ContainerCgroup, oomKillCount } from '../../runtime/cgroups';
import { nowIso, type EngineCore } from './core';
import { releaseResources } from './release';
import { removeLocked } from './remove';
import type { ContainerRecord } from './types';

export class ExitHandling {
  /** `restart`: a start by the restart policy (start.ts); given here, since a start also watches for the exit. */
  constructor(private readonly core: EngineCore, private readonly restart: (rec: ContainerRecord) => Promise<void>) {}

  /** Handles the exit of the shim's process once it comes, under the container's lock. */
  watch(rec: ContainerRecord, shim: Shim): void {
    const live = this.core.liveOf(rec.Id);
    live.exitHandled = shim.exited.then((status) => this.core.serialize(rec.Id, () => this.handle(rec, status)))
      .catch((err) => log.error('handling container exit failed', { id: rec.Id, error: errorMessage(err) }));
  }

  /** Records the exit; the caller holds the container's lock. */
  async handle(rec: ContainerRecord, status: ExitStatus): Promise<void> {
    const core = this.core;
    if (!core.store.tryGet(rec.Id)) return; // removed (rm -f) while it ran: removal handled the exit
    const live = core.live.get(rec.Id);
    if (live) live.shim = undefined;
    const t0 = Date.now();
    log.debug('exit seen', { id: rec.Id.slice(0, 12), sinceExitMs: t0 - Date.parse(status.finishedAt) });
    const oomKilled = status.oomKilled || (await this.wasOomKilled(rec));
    if (oomKilled) core.event(rec, 'oom');
    await releaseResources(core, rec);
    log.debug('resources released', { id: rec.Id.slice(0, 12), ms: Date.now() - t0 });
    rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: status.exitCode, OOMKilled: oomKilled, FinishedAt: status.finishedAt || nowIso() };
    rec.Network = undefined;
    // An auto-removed container's record is deleted next: no point making this state durable first.
    if (!rec.HostConfig.AutoRemove) await core.store.save(rec);
    core.event(rec, 'die', { exitCode: String(status.exitCode) });
    core.notify(rec, 'next-exit', { StatusCode: status.exitCode });
    if (rec.HostConfig.AutoRemove) {
      // --rm takes the container's anonymous volumes with it, as docker's does
      await removeLocked(core, rec, { force: true, volumes: true }).catch((e) => log.warn('auto-remove failed', { id: rec.Id, error: errorMessage(e) }));
      return;
    }
    core.notify(rec, 'not-running', { StatusCode: status.exitCode });
    await this.maybeRestart(rec);
  }

  /** Restart policies (always, unless-stopped, on-failure[:N]) with Docker's doubling back-off. */
  private async maybeRestart(rec: ContainerRecord): Promise<void> {
    const policy = rec.HostConfig.RestartPolicy;
    if (rec.StoppedByUser || !policy || policy.Name === 'no' || policy.Name === '') return;
    if (policy.Name === 'on-failure' && (rec.State.ExitCode === 0 || (policy.MaximumRetryCount > 0 && rec.RestartCount >= policy.MaximumRetryCount))) return;
    const delay = Math.min(100 * 2 ** Math.min(rec.RestartCount, 10), 60_000);
    // shown as "Restarting (code) … ago" until the policy's start, as Docker does during the back-off
    rec.State.Status = 'restarting';
    // Saved under the container's lock (the caller holds it): an rm -f right after the exit waits for the lock, so
    // this write cannot land in a directory the removal is deleting (it did: "ENOTEMPTY … rmdir", a 500)
    await failpoint('container.exit.before-restart-save');
    await this.core.store.save(rec).catch((e) => log.warn('saving restarting state failed', { id: rec.Id, error: errorMessage(e) }));
    setTimeout(() => {
      this.restart(rec).catch((e) => log.warn('restart failed', { id: rec.Id, error: errorMessage(e) }));
    }, delay).unref();
  }

  /** Whether the kernel's OOM killer killed a process of the container (read before its cgroup is removed). */
  private async wasOomKilled(rec: ContainerRecord): Promise<boolean> {
    return (await oomKillCount(new ContainerCgroup(this.core.cgroupPath(rec))).catch(() => 0)) > 0;
  }
}
