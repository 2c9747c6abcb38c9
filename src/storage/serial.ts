// A one-at-a-time queue for the store's mutations: metadata updates must not interleave (two tags landing
// at once would each write repositories.json from a stale view). Reads never wait: they use memory.
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
