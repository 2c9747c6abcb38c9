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
