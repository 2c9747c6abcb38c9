// A seed-corpus mutator for the fuzz tests: a seeded PRNG (runs are reproducible from the seed printed on failure)
// and the usual mutations — bit flips, byte runs, interesting values, splices of other corpus items, duplication and
// truncation. Time-bounded: each fuzz test runs for BERTH_FUZZ_SECONDS (default 5) per target.
export const FUZZ_MS = Number(process.env.BERTH_FUZZ_SECONDS ?? 5) * 1000;
/** CI runs a fixed seed (a red CI is then a reproducible finding, not luck); developers' runs explore new seeds. */
export const FUZZ_SEED = Number(process.env.BERTH_FUZZ_SEED ?? (process.env.CI ? 20261207 : Date.now() % 1_000_000_007));

/** xorshift32: small, fast, reproducible. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = (seed >>> 0) || 0x9e3779b9; }
  next(): number { let x = this.s; x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; this.s = x; return x; }
  int(n: number): number { return n <= 0 ? 0 : this.next() % n; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  chance(p: number): boolean { return this.next() / 0x100000000 < p; }
}

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x2f /* / */, 0x2e /* . */, 0x22 /* " */, 0x5c /* \ */, 0x0a, 0x0d, 0x20, 0x25 /* % */];
const INTERESTING_TEXT = ['../', '%2e%2e', '\0', '\u2028', '\uffff', '{', '[', ']', '}', '"', '\\', '\\u0000', '-1', '2147483648', '1e309', 'NaN', 'null', 'true',
  '\r\n', '\t', '$(id)', '`id`', '${PATH}', '%', '%%', '%zz', '/'.repeat(300), 'A'.repeat(5000), '\ud800', '0x', '077777777777', '\u0000\u0000'];

/** One mutation of `input`, drawing splices from `corpus`. */
export function mutateBytes(rng: Rng, input: Buffer, corpus: readonly Buffer[]): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const pos = b.length ? rng.int(b.length) : 0;
    switch (rng.int(8)) {
      case 0: if (b.length) b[pos] ^= 1 << rng.int(8); break;
      case 1: if (b.length) b[pos] = rng.pick(INTERESTING_BYTES); break;
      case 2: b = Buffer.concat([b.subarray(0, pos), Buffer.from(rng.pick(INTERESTING_TEXT)), b.subarray(pos)]); break;
      case 3: b = Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + 1 + rng.int(64)))]); break;
      case 4: { const other = rng.pick(corpus); const at = rng.int(other.length + 1); b = Buffer.concat([b.subarray(0, pos), other.subarray(at, at + 1 + rng.int(512))]); break; }
      case 5: { const n = 1 + rng.int(32); b = Buffer.concat([b.subarray(0, pos), b.subarray(pos, pos + n), b.subarray(pos)]); break; }
      case 6: b = b.subarray(0, pos); break;
      case 7: if (b.length >= 8) { const v = rng.pick([0, 0xffffffff, 0x7fffffff, 0x80000000, 1]); b.writeUInt32LE(v >>> 0, Math.min(pos, b.length - 4)); } break;
    }
  }
  return b;
}

export const mutateText = (rng: Rng, input: string, corpus: readonly string[]): string =>
  mutateBytes(rng, Buffer.from(input), corpus.map((c) => Buffer.from(c))).toString('utf8');

/**
 * Runs `check` on mutations of the corpus for FUZZ_MS (at most `maxIterations`). A throw from `check` is a finding:
 * it is rethrown with the seed, the iteration and the input, so it can be replayed.
 */
export async function fuzz<T>(name: string, corpus: readonly T[], mutate: (rng: Rng, x: T, corpus: readonly T[]) => T, check: (x: T) => void | Promise<void>,
  opts: { maxIterations?: number; ms?: number } = {}): Promise<number> {
  const rng = new Rng(FUZZ_SEED ^ hash(name));
  const deadline = Date.now() + (opts.ms ?? FUZZ_MS);
  let i = 0;
  for (const seed of corpus) await run(seed);
  while (Date.now() < deadline && i < (opts.maxIterations ?? Infinity)) {
    let x = rng.pick(corpus);
    const depth = 1 + rng.int(3);
    for (let d = 0; d < depth; d++) x = mutate(rng, x, corpus);
    await run(x);
  }
  return i;
  async function run(x: T): Promise<void> {
    i++;
    try {
      await check(x);
    } catch (err) {
      const shown = Buffer.isBuffer(x) ? `${x.length} bytes: ${x.toString('base64').slice(0, 2000)}` : JSON.stringify(x).slice(0, 2000);
      throw new Error(`fuzz ${name}: finding at iteration ${i} (BERTH_FUZZ_SEED=${FUZZ_SEED}): ${(err as Error).stack ?? err}\ninput ${shown}`);
    }
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}
