// Runs async jobs with at most `n` in flight (docker's max-concurrent-downloads/uploads is 3). A job may
// announce it is waiting before it gets a slot.
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
