// Small helpers shared by command modules (kept free of heavy imports).

/** opts.FilterOpt → the API's filters JSON: {"name":{"value":true}}; undefined when empty. */
export function filtersJson(values: string[]): string | undefined {
  const f: Record<string, Record<string, boolean>> = {};
  let n = 0;
  for (const v of values) {
    if (v === '') continue;
    const i = v.indexOf('=');
    const name = v.slice(0, i).trim().toLowerCase();
    const val = v.slice(i + 1).trim();
    (f[name] ??= {})[val] = true;
    n++;
  }
  return n ? JSON.stringify(f) : undefined;
}

/** kvfile.Parse: KEY=VALUE lines; bare KEY takes the value from `lookup` (env files) or is dropped. */
export function parseKvFile(filename: string, lookup?: (k: string) => string | undefined): string[] {
  const fs: typeof import('fs') = require('fs');
  let data: Buffer;
  try {
    data = fs.readFileSync(filename);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`open ${filename}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new Error(`invalid env file (${filename}): invalid utf8 bytes`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line[0] === '#') continue;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line;
    if (key === '') throw new Error(`invalid env file (${filename}): no variable name on line '${line}'`);
    if (/[ \t]/.test(key)) throw new Error(`invalid env file (${filename}): variable '${key}' contains whitespaces`);
    if (eq >= 0) { out.push(line); continue; }
    if (lookup) {
      const v = lookup(line);
      if (v !== undefined) out.push(`${key}=${v}`);
    }
  }
  return out;
}

/** opts.ReadKVEnvStrings: env files first, then -e values. */
export function readEnv(files: string[], values: string[]): string[] {
  const out: string[] = [];
  for (const f of files) out.push(...parseKvFile(f, (k) => process.env[k]));
  return [...out, ...values];
}

/** opts.ValidateEnv: "KEY" takes the client's value when set. */
export function validateEnv(v: string): string {
  const eq = v.indexOf('=');
  const k = eq >= 0 ? v.slice(0, eq) : v;
  if (k === '') throw new Error(`invalid environment variable: ${v}`);
  if (eq >= 0) return v;
  const env = process.env[k];
  return env !== undefined ? `${k}=${env}` : v;
}

/** opts.ValidateLabel. */
export function validateLabel(v: string): string {
  const key = v.split('=')[0].replace(/^[ \t]+/, '');
  if (key === '') throw new Error(`invalid label '${v}': empty name`);
  if (/[ \t]/.test(key)) throw new Error(`label '${key}' contains whitespaces`);
  return v;
}

/** Reads all of stdin or a stream into a Buffer. */
export function readStream(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

/** Resolves with `p`'s value, or with undefined once `ms` have passed. */
export function bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** command.PromptForConfirmation: "<message> [y/N] ", then one line of stdin; only y/Y confirms. */
export async function confirm(ctx: { out(s: string): void }, message: string): Promise<boolean> {
  ctx.out(`${message} [y/N] `);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    const stdin = process.stdin;
    const done = () => { stdin.off('data', onData); stdin.off('end', done); stdin.off('error', done); stdin.pause(); resolve(buf); };
    const onData = (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) { buf = buf.slice(0, nl); done(); }
    };
    stdin.on('data', onData);
    stdin.once('end', done);
    stdin.once('error', done);
    stdin.resume();
  });
  return line.trim().toLowerCase() === 'y';
}

/**
 * Natural order as docker sorts names and port lines (sortorder.NaturalLess): bytes compare as bytes,
 * except that runs of digits compare by numeric value, a digit sorts before any other byte, and for
 * equal values the run with fewer leading zeros comes first. Returns <0, 0 or >0 for Array.sort.
 */
export function naturalCompare(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const dx = isDigit(x[i]);
    const dy = isDigit(y[j]);
    if (dx !== dy) return dx ? -1 : 1;
    if (!dx) {
      if (x[i] !== y[j]) return x[i] - y[j];
      i++;
      j++;
      continue;
    }
    // Both sides start a number: skip leading zeros, then a longer run of significant digits is larger;
    // equal lengths compare digit by digit.
    const zi = i;
    const zj = j;
    while (i < x.length && x[i] === 0x30) i++;
    while (j < y.length && y[j] === 0x30) j++;
    const si = i;
    const sj = j;
    while (i < x.length && isDigit(x[i])) i++;
    while (j < y.length && isDigit(y[j])) j++;
    if (i - si !== j - sj) return (i - si) - (j - sj);
    const c = Buffer.compare(x.subarray(si, i), y.subarray(sj, j));
    if (c !== 0) return c;
    if (si - zi !== sj - zj) return (si - zi) - (sj - zj);
  }
  return x.length - y.length;
}
