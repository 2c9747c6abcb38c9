// Runs a task once the daemon has gone quiet: `activity()` marks each API request (a timestamp, no timer
// churn), and the task runs when no activity has been seen for `quietMs`, once per quiet period. The daemon uses
// it to give memory back when idle (compact.ts) without touching the latency of a busy daemon.

/** The clock and timers the trigger uses; tests pass a fake. */
export interface IdleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?(): unknown };
  clearTimeout(handle: unknown): void;
}

const realClock: IdleClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class IdleTrigger {
  private last: number;
  private timer: unknown;
  /** whether the task already ran for the current quiet period */
  private ran = false;
  private closed = false;

  /** Armed at construction: a daemon that is never used still runs the task once it has been quiet `quietMs`. */
  constructor(private readonly quietMs: number, private readonly task: () => void, private readonly clock: IdleClock = realClock) {
    this.last = clock.now();
    this.arm(quietMs);
  }

  /** Something happened: the task waits until `quietMs` after the last call. Cheap enough for every request. */
  activity(): void {
    this.last = this.clock.now();
    this.ran = false;
    if (this.timer === undefined && !this.closed) this.arm(this.quietMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    const t = this.clock.setTimeout(() => this.fire(), ms);
    t.unref?.(); // an idle daemon's timer does not keep the process alive
    this.timer = t;
  }

  private fire(): void {
    this.timer = undefined;
    if (this.closed || this.ran) return;
    const quiet = this.clock.now() - this.last;
    // activity since the timer was set: wait the rest of the quiet period from the last one
    if (quiet < this.quietMs) { this.arm(this.quietMs - quiet); return; }
    this.ran = true;
    this.task();
  }
}
