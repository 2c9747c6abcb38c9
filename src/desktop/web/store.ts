// A tiny observable value with a Preact hook: views re-render when the values they read change.
import { useEffect, useState } from 'preact/hooks';

export class Store<T> {
  private subs = new Set<() => void>();
  constructor(private value: T) {}
  get(): T { return this.value; }
  set(v: T): void { this.value = v; this.emit(); }
  update(fn: (v: T) => T): void { this.set(fn(this.value)); }
  /** Tells subscribers the value changed in place. */
  emit(): void { for (const s of [...this.subs]) s(); }
  subscribe(fn: () => void): () => void { this.subs.add(fn); return () => { this.subs.delete(fn); }; }
}

export function useStore<T>(s: Store<T>): T {
  const [, force] = useState(0);
  useEffect(() => s.subscribe(() => force((n) => n + 1)), [s]);
  return s.get();
}
