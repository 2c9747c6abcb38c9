// Runs async jobs with at most `n` in flight (docker's max-concurrent-downloads/uploads is 3), and waits for a
// batch of them with abort-on-first-failure. A job may announce it is waiting before it gets a slot.
export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly n: number) {}

  async run<T>(job: () => Promise<T>, onWait?: () => void): Promise<T> {
    if (this.active >= this.n) {
      onWait?.();
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else this.active++;
    try {
      return await job();
    } finally {
      const next = this.queue.shift();
      if (next) next(); else this.active--;
    }
  }
}

/**
 * Waits for every job to settle — none is left running against files the caller cleans up next — after
 * aborting the others at the first failure. Throws that first failure.
 */
export async function settleAll(jobs: Array<Promise<unknown>>, abort: AbortController): Promise<void> {
  const results = await Promise.allSettled(jobs.map((j) => j.catch((err) => { abort.abort(err); throw err; })));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
