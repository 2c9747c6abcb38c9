// Unpack benchmark: berth's ingestLayer (keep blob + decompress + diff-id + unpack) beside GNU tar on the same
// gzip layers, one after another and three at a time (as a pull unpacks them); wall time and CPU time (all of
// berth's threads; tar's and gzip's processes). Two layer sets, generated once (deterministically) into
// $TMPDIR/berth-bench-unpack-v3 and reused:
//   files  ~208 MB of tar, 85 MB gzipped, ~23k entries in 4 layers: a distro-like base with many small files,
//          symlinks, hard links, device nodes and binary xattrs (security.capability); a package layer with
//          whiteouts and opaque dirs; a layer of large files; an app layer of tiny files.
//   bulk   ~200 MB of tar in 4 layers of ~50 MB, mostly large incompressible files (184 MB gzipped).
// "berth, cold workers" ends the warm unpack workers before each set (a pull after 30 s idle, not warmed).
//
//   npm run build && node build/bench/unpack.js [files|bulk]…   (BENCH_REPS=n repetitions, default 5)
import { execFileSync, spawn } from 'child_process';
import { createReadStream, createWriteStream, existsSync, promises as fs, statSync } from 'fs';
import { createCipheriv } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { BlobStore } from '../src/storage/blobs';
import { ingestLayer } from '../src/storage/ingest';
import { stopUnpackWorkers } from '../src/storage/unpack';

const REPS = parseInt(process.env.BENCH_REPS ?? '5', 10);
const DATA = path.join(os.tmpdir(), 'berth-bench-unpack-v3');
const WORK = path.join(os.tmpdir(), `berth-bench-unpack-work-${process.pid}`);

// ---- a minimal tar writer (binary PAX values, which tar-stream cannot write) ----

function octal(buf: Buffer, value: number, off: number, len: number): void {
  buf.write(value.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

interface Entry {
  name: string;
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  size?: number;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

function header(e: Entry, name: string, linkname: string, typeflag: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  octal(h, e.mode, 100, 8);
  octal(h, e.uid ?? 0, 108, 8);
  octal(h, e.gid ?? 0, 116, 8);
  octal(h, size, 124, 12);
  octal(h, e.mtime ?? 1_600_000_000, 136, 12);
  h.write('        ', 148, 8, 'latin1');
  h.write(typeflag, 156, 1, 'latin1');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 8, 'latin1');
  h.write('root', 265, 32);
  h.write('root', 297, 32);
  octal(h, e.devmajor ?? 0, 329, 8);
  octal(h, e.devminor ?? 0, 337, 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** One tar entry's bytes (PAX header first when the name is long or there are xattrs). */
function tarEntry(e: Entry, content?: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  const records: Buffer[] = [];
  if (Buffer.byteLength(e.name) > 100) records.push(paxRecord('path', Buffer.from(e.name)));
  if (e.linkname && Buffer.byteLength(e.linkname) > 100) records.push(paxRecord('linkpath', Buffer.from(e.linkname)));
  for (const [k, v] of Object.entries(e.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  if (records.length > 0) {
    const pax = Buffer.concat(records);
    parts.push(header({ name: 'PaxHeader', type: '0', mode: 0o644 }, 'PaxHeader', '', 'x', pax.length), pax, pad(pax.length));
  }
  const size = content?.length ?? 0;
  parts.push(header(e, e.name.slice(0, 100), (e.linkname ?? '').slice(0, 100), e.type, size));
  if (content && size > 0) parts.push(content, pad(size));
  return parts;
}

// ---- deterministic content ----

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL = 8 << 20;
interface Pools { text: Buffer; bin: Buffer; rand: Buffer }
function pools(): Pools {
  const r = rng(42);
  const words = Array.from({ length: 2000 }, () => Array.from({ length: 2 + Math.floor(r() * 9) }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join(''));
  const lines: string[] = [];
  let n = 0;
  while (n < POOL) {
    const line = Array.from({ length: 3 + Math.floor(r() * 12) }, () => words[Math.floor(Math.pow(r(), 2) * words.length)]).join(' ') + '\n';
    lines.push(line);
    n += line.length;
  }
  const text = Buffer.from(lines.join('')).subarray(0, POOL);
  // "machine code": zero runs, repeats and skewed random bytes; gzips to ~45%
  const bin = Buffer.alloc(POOL);
  for (let i = 0; i < POOL; i += 64) {
    const k = r();
    if (k < 0.25) continue; // zeros
    if (k < 0.55 && i >= 4096) { const from = i - 64 * (1 + Math.floor(r() * 60)); bin.copy(bin, i, from, from + 64); continue; }
    for (let j = 0; j < 64; j++) bin[i + j] = Math.floor(Math.pow(r(), 3) * 256);
  }
  // incompressible (media, compressed archives), deterministic: AES-CTR over zeros
  const aes = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16, 2));
  const rand = Buffer.concat([aes.update(Buffer.alloc(POOL)), aes.final()]);
  return { text, bin, rand };
}

interface LayerSpec {
  name: string; files: number; dirs: number; symlinks: number; hardlinks: number; whiteouts: number; opaque: number; devices: number; caps: number;
  /** Large files: size and content kind. */
  big?: Array<[number, 'text' | 'bin' | 'rand']>;
  /** Divides the small files' sizes. */
  shrink?: number;
}

const SETS: Record<string, LayerSpec[]> = {
  // distro-like: ~208 MB of tar in ~23k entries, gzips to ~85 MB
  files: [
    { name: 'base', files: 9000, dirs: 900, symlinks: 1800, hardlinks: 250, whiteouts: 0, opaque: 0, devices: 6, caps: 12 },
    { name: 'packages', files: 4500, dirs: 400, symlinks: 300, hardlinks: 40, whiteouts: 150, opaque: 3, devices: 0, caps: 3 },
    { name: 'large', files: 20, dirs: 5, symlinks: 5, hardlinks: 2, whiteouts: 5, opaque: 0, devices: 0, caps: 0, big: [[16 << 20, 'bin'], [12 << 20, 'text'], [8 << 20, 'bin']] },
    { name: 'app', files: 6000, dirs: 1200, symlinks: 50, hardlinks: 0, whiteouts: 20, opaque: 1, devices: 0, caps: 0, shrink: 3 },
  ],
  // few large files, mostly incompressible: ~200 MB of tar in 4 layers of ~50 MB, gzips to ~190 MB
  bulk: [0, 1, 2, 3].map((i) => ({
    name: `bulk${i}`, files: 200, dirs: 20, symlinks: 20, hardlinks: 5, whiteouts: 5, opaque: 0, devices: 0, caps: 0,
    big: [[14 << 20, 'rand'], [12 << 20, 'rand'], [10 << 20, 'rand'], [6 << 20, 'bin'], [5 << 20, 'rand']] as Array<[number, 'text' | 'bin' | 'rand']>,
    shrink: 2,
  })),
};

async function generateLayer(spec: LayerSpec, seed: number, p: Pools, out: string): Promise<void> {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const slice = (size: number, kind: 'text' | 'bin' | 'rand') => {
    const off = Math.floor(r() * (POOL - size));
    return p[kind].subarray(off, off + size);
  };
  // small files: log-uniform 50 B … 64 KiB (mean ~9 KiB), plus a few up to 1 MiB
  const size = () => (r() < 0.003 ? Math.floor(64 * 1024 + r() * 1024 * 1024) : Math.floor(Math.exp(Math.log(50) + r() * (Math.log(64 * 1024) - Math.log(50))))) >> (spec.shrink ?? 0);
  const mtime = () => 1_500_000_000 + Math.floor(r() * 100_000_000);

  const gz = spawn('pigz', ['-6', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const file = createWriteStream(out);
  gz.stdout.pipe(file);
  const written = new Promise<void>((resolve, reject) => { file.on('finish', resolve); file.on('error', reject); gz.on('error', reject); });
  const write = async (bufs: Buffer[]) => {
    for (const b of bufs) if (!gz.stdin.write(b)) await new Promise((res) => gz.stdin.once('drain', res));
  };

  const top = spec.name === 'app' ? ['app', 'app/node_modules'] : spec.big ? ['opt', 'opt/data'] : ['usr', 'usr/lib', 'usr/share', 'usr/bin', 'etc', 'var', 'var/lib', 'usr/share/doc'];
  const dirs = [...top];
  await write(tarEntry({ name: './', type: '5', mode: 0o755 }));
  for (const d of top) await write(tarEntry({ name: `${d}/`, type: '5', mode: 0o755, mtime: mtime() }));
  for (let i = 0; i < spec.dirs; i++) {
    const d = `${pick(dirs)}/d${seed}-${i}`;
    dirs.push(d);
    await write(tarEntry({ name: `${d}/`, type: '5', mode: r() < 0.05 ? 0o2775 : 0o755, gid: r() < 0.05 ? 50 : 0, mtime: mtime() }));
  }
  if (spec.devices > 0) {
    await write(tarEntry({ name: 'dev/', type: '5', mode: 0o755 }));
    for (let i = 0; i < spec.devices; i++) await write(tarEntry({ name: `dev/node${i}`, type: i % 3 === 2 ? '6' : '3', mode: 0o666, devmajor: 1, devminor: i + 3 }));
  }
  const files: string[] = [];
  for (let i = 0; i < spec.files; i++) {
    const f = `${pick(dirs)}/f${i}${r() < 0.3 ? '.so' : r() < 0.5 ? '.txt' : ''}`;
    const sz = size();
    const owner = r() < 0.1 ? { uid: 1000 + Math.floor(r() * 5), gid: 1000 } : {};
    const mode = r() < 0.01 ? 0o4755 : r() < 0.4 ? 0o755 : 0o644;
    const xattrs = i < spec.caps ? { 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } : undefined;
    files.push(f);
    await write(tarEntry({ name: f, type: '0', mode, mtime: mtime(), ...owner, xattrs }, slice(sz, f.endsWith('.so') || mode === 0o755 ? 'bin' : 'text')));
  }
  for (const [i, [sz, kind]] of (spec.big ?? []).entries()) {
    const f = `opt/data/big${i}.bin`;
    const content = Buffer.alloc(sz);
    for (let o = 0; o < sz; o += 1 << 20) slice(1 << 20, kind).copy(content, o);
    files.push(f);
    await write(tarEntry({ name: f, type: '0', mode: 0o644, mtime: mtime() }, content));
  }
  for (let i = 0; i < spec.symlinks; i++) {
    const target = r() < 0.5 ? `/${pick(files)}` : path.posix.basename(pick(files));
    await write(tarEntry({ name: `${pick(dirs)}/l${i}`, type: '2', mode: 0o777, linkname: target, mtime: mtime() }));
  }
  for (let i = 0; i < spec.hardlinks; i++) {
    await write(tarEntry({ name: `${pick(dirs)}/h${i}`, type: '1', mode: 0o644, linkname: pick(files), mtime: mtime() }));
  }
  for (let i = 0; i < spec.whiteouts; i++) await write(tarEntry({ name: `${pick(dirs)}/.wh.gone${i}`, type: '0', mode: 0o644 }));
  for (let i = 0; i < spec.opaque; i++) await write(tarEntry({ name: `${dirs[top.length + i]}/.wh..wh..opq`, type: '0', mode: 0o644 }));
  await write([Buffer.alloc(1024)]);
  gz.stdin.end();
  await written;
}

let pooled: Pools | undefined;
async function ensureData(set: string): Promise<string[]> {
  const dir = path.join(DATA, set);
  const files = SETS[set].map((l) => path.join(dir, `${l.name}.tar.gz`));
  if (files.every((f) => existsSync(f))) return files;
  await fs.mkdir(dir, { recursive: true });
  console.log(`# generating the ${set} layers into ${dir} (once)`);
  pooled ??= pools();
  for (const [i, spec] of SETS[set].entries()) await generateLayer(spec, 1000 + i, pooled, `${files[i]}.tmp`);
  for (const f of files) await fs.rename(`${f}.tmp`, f);
  return files;
}

// ---- runners ----

let seq = 0;
async function freshDir(): Promise<string> {
  const d = path.join(WORK, `t${seq++}`);
  await fs.mkdir(d, { recursive: true });
  return d;
}

/** Runs `cmd`; adds its CPU time (user + system, children included, from /usr/bin/time) to childCpuMs. */
let childCpuMs = 0;
function sh(cmd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/time', ['-f', '%U %S', 'sh', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${cmd}: exit ${code}: ${err}`));
      const [user, sys] = err.trim().split('\n').pop()!.split(' ').map(Number);
      childCpuMs += (user + sys) * 1000;
      resolve();
    });
  });
}

interface Runner {
  run: (layer: string, dir: string) => Promise<void>;
  /** Untimed, before each set. */
  prepare?: () => Promise<void>;
}

const blobsRoot = path.join(WORK, 'store');
const blobs = new BlobStore(blobsRoot, path.join(blobsRoot, 'tmp'));
// The layer file is read in 1 MiB chunks: each fs.ReadStream read is a thread-pool round trip (~0.1 ms here), which
// the socket a pull or load reads from does not cost (sockets are read on the main thread, no hand-over).
const ingest = async (layer: string, dir: string) => { await ingestLayer(createReadStream(layer, { highWaterMark: 1 << 20 }), dir, blobs); };
const runners: Record<string, Runner> = {
  berth: { run: ingest },
  'berth, cold workers': { run: ingest, prepare: stopUnpackWorkers }, // a pull after 30 s idle, not warmed
  'tar -xzf': { run: (layer, dir) => sh(`tar --same-owner --xattrs --xattrs-include='*' -xzf ${layer} -C ${dir}`) },
  'pigz -dc | tar -x': { run: (layer, dir) => sh(`pigz -dc ${layer} | tar --same-owner --xattrs --xattrs-include='*' -x -C ${dir}`) },
};

/** Runs all layers with at most `parallel` at once; returns wall ms and CPU ms (this process's threads, or the
 * commands'). */
async function runSet(runner: Runner, layers: string[], parallel: number): Promise<{ wall: number; cpu: number }> {
  const dirs = await Promise.all(layers.map(() => freshDir()));
  await runner.prepare?.();
  execFileSync('sync');
  childCpuMs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < layers.length) {
      const i = next++;
      await runner.run(layers[i], dirs[i]);
    }
  }));
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const own = process.cpuUsage(cpu0);
  await fs.rm(WORK, { recursive: true, force: true });
  await fs.mkdir(path.join(blobsRoot, 'tmp'), { recursive: true });
  await blobs.init();
  return { wall, cpu: childCpuMs > 0 ? childCpuMs : (own.user + own.system) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const sets = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(SETS);
  for (const set of sets) if (!SETS[set]) throw new Error(`unknown set ${set}; known: ${Object.keys(SETS).join(', ')}`);
  await fs.mkdir(path.join(blobsRoot, 'tmp'), { recursive: true });
  await blobs.init();
  try {
    for (const set of sets) {
      const layers = await ensureData(set);
      const compressed = layers.reduce((a, f) => a + statSync(f).size, 0);
      const raw = layers.reduce((a, f) => a + Number(execFileSync('sh', ['-c', `pigz -dc ${f} | wc -c`]).toString().trim()), 0);
      console.log(`# set "${set}": ${layers.length} gzip layers, ${(compressed / 1e6).toFixed(1)} MB compressed, ${(raw / 1e6).toFixed(1)} MB of tar; ${REPS} reps, medians; ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
      console.log('#                                            wall           CPU (user+sys)   berth / other: wall, CPU');
      for (const parallel of [1, 3]) {
        const samples: Record<string, Array<{ wall: number; cpu: number }>> = Object.fromEntries(Object.keys(runners).map((n) => [n, []]));
        // interleaved, so that load from elsewhere hits every contender alike
        for (const name of Object.keys(runners)) await runSet(runners[name], layers, parallel); // warm-up
        for (let i = 0; i < REPS; i++) for (const name of Object.keys(runners)) samples[name].push(await runSet(runners[name], layers, parallel));
        const results = Object.fromEntries(Object.entries(samples).map(([n, xs]) => [n, { wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) }]));
        const label = parallel === 1 ? 'sequential' : `${parallel} at once`;
        for (const [name, r] of Object.entries(results)) {
          const ratios = name.startsWith('berth') ? Object.entries(results).filter(([n]) => !n.startsWith('berth')).map(([n, v]) => `${(r.wall / v.wall).toFixed(2)}, ${(r.cpu / v.cpu).toFixed(2)} ${n}`).join(';  ') : '';
          console.log(`${set.padEnd(6)} ${label.padEnd(11)} ${name.padEnd(21)} ${r.wall.toFixed(0).padStart(6)} ms ${(raw / 1e6 / (r.wall / 1000)).toFixed(0).padStart(4)} MB/s ${r.cpu.toFixed(0).padStart(6)} ms   ${ratios}`);
        }
      }
    }
  } finally {
    await fs.rm(WORK, { recursive: true, force: true });
    await stopUnpackWorkers();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
