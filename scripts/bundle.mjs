// Bundles the CLI, the daemon, the registry server and the dashboard (server + page) under dist/, plus the daemon's
// workers: unpack (a worker_thread per layer being unpacked, also cp extraction; src/storage/unpack.ts finds it
// beside itself) and archive-pack (cp and export of directory trees). Then builds dist/berth, the executable
// bin/berth points at: the CLI compiled by Bun into a single executable (starts in ~10 ms where Node takes ~80),
// or, where Bun cannot be had, a link to bin/berth-node (the same CLI on Node).
// Why separate: every CLI command pays Node's start-up plus the cost of parsing its bundle,
// so the CLI bundle must not carry the daemon (engine, runtime, storage) or the registry server
// (and its bcryptjs) with it; `berth registry serve` requires dist/registry-server.js at run time.
import { build } from 'esbuild';
import { execFileSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { createRequire } from 'module';
import * as path from 'path';

// The compose-spec schema validator compiled once here (ajv standalone code) instead of at every `berth compose`
// run: compiling the schema costs ~150 ms of CPU, the generated module loads in ~2 ms (src/compose/schema.ts).
{
  const require = createRequire(import.meta.url);
  const Ajv = require('ajv').default;
  const standalone = require('ajv/dist/standalone').default;
  const { $schema, ...schema } = JSON.parse(readFileSync('src/compose/schema/compose-spec.json', 'utf8'));
  const ajv = new Ajv({ code: { source: true }, inlineRefs: false, strict: false, allowUnionTypes: true, validateSchema: false });
  mkdirSync('build', { recursive: true });
  writeFileSync('build/compose-schema-validate.src.js', standalone(ajv, ajv.compile(schema)));
  writeFileSync('build/compose-yaml.src.js', "module.exports = require('yaml');\n");
  // tsc's output (build/, what the tests run) compiles the schema at run time from beside schema.js, as src/ has it
  mkdirSync('build/src/compose/schema', { recursive: true });
  copyFileSync('src/compose/schema/compose-spec.json', 'build/src/compose/schema/compose-spec.json');
}

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };
await Promise.all([
  // bun:ffi is only required inside the Bun executable (node-handoff.ts)
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', external: ['bun:ffi'] }),
  // cp's local side (tar writing and extraction), loaded by `cp` alone: the other commands do not parse it
  build({ ...common, entryPoints: ['src/cli/commands/cp-archive.ts'], outfile: 'dist/cli-archive.js' }),
  // koffi is native: loaded from node_modules. So is the gRPC stack, which only the CRI server loads, on its first
  // client: bundled, its ~0.9 MB of source would sit in every daemon's heap (V8 keeps a script's source) unused.
  build({ ...common, entryPoints: ['src/daemon/main.ts'], outfile: 'dist/daemon.js', external: ['koffi', '@grpc/grpc-js', '@grpc/proto-loader'] }),
  build({ ...common, entryPoints: ['src/registry/main.ts'], outfile: 'dist/registry-server.js' }),
  // `berth compose` (src/compose with the YAML parser and the schema validator), loaded by `compose` alone
  // (ajv is left to node_modules: needed only without the generated validator; the YAML parser and the validator
  // are bundles of their own, loaded only when the loader's cache misses; minified: the parse of this bundle is on
  // the path of every compose command)
  build({ ...common, entryPoints: ['src/cli/commands/compose-main.ts'], outfile: 'dist/compose.js', external: ['ajv', 'yaml'], minify: true }),
  build({ ...common, entryPoints: ['build/compose-yaml.src.js'], outfile: 'dist/compose-yaml.js', minify: true }),
  build({ ...common, entryPoints: ['build/compose-schema-validate.src.js'], outfile: 'dist/compose-schema-validate.js', minify: true }),
  // `berth rootless setup USER` (src/rootless/setup.ts), loaded by that command alone
  build({ ...common, entryPoints: ['src/rootless/setup.ts'], outfile: 'dist/rootless-setup.js' }),
  build({ ...common, entryPoints: ['src/storage/unpack-worker.ts'], outfile: 'dist/unpack-worker.js', external: ['koffi'] }),
  // cp/export: packs directory trees with synchronous syscalls (src/storage/archive-stream.ts finds it beside itself)
  build({ ...common, entryPoints: ['src/storage/archive-pack-worker.ts'], outfile: 'dist/archive-pack-worker.js', external: ['koffi'] }),
  // `berth desktop`'s server: its own process, started through the Node launcher (bin/berth-node desktop-server)
  build({ ...common, entryPoints: ['src/desktop/server/main.ts'], outfile: 'dist/desktop-server.js' }),
  buildWeb(),
]);
// V8 keeps each script's source in the heap for as long as the process runs (lazy compilation needs it), and one
// character above U+007F anywhere makes the whole text a two-byte string: the daemon bundle's 19 in comments
// (esbuild escapes them in strings, not in comments) doubled its size in memory. So the long-running bundles are made
// pure ASCII: what is left above U+007F (comments only) becomes \u escapes.
for (const file of ['dist/daemon.js', 'dist/registry-server.js', 'dist/desktop-server.js', 'dist/unpack-worker.js', 'dist/archive-pack-worker.js']) {
  const text = readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(text)) writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

// The dashboard page: ES modules split by view, so the first view (the containers list) loads only its own
// code; every other view, xterm (terminal) and the charts come as chunks when first opened. Names carry a
// content hash (cached forever); index.html is written with the entry's names.
async function buildWeb() {
  const out = 'dist/desktop-web';
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const r = await build({
    entryPoints: ['src/desktop/web/main.tsx'], bundle: true, splitting: true, format: 'esm', outdir: out,
    entryNames: '[name]-[hash]', chunkNames: 'chunk-[hash]', assetNames: '[name]-[hash]', minify: true,
    jsx: 'automatic', jsxImportSource: 'preact', target: ['chrome110', 'firefox115', 'safari16'],
    metafile: true, logLevel: 'warning', legalComments: 'none', sourcemap: false,
  });
  const outputs = Object.entries(r.metafile.outputs);
  const entry = outputs.find(([, o]) => o.entryPoint === 'src/desktop/web/main.tsx');
  const js = path.basename(entry[0]);
  const css = path.basename(entry[1].cssBundle);
  // the entry's static imports are announced up front (no second round trip to discover them)
  const preloads = entry[1].imports.filter((i) => i.kind === 'import-statement').map((i) => `<link rel="modulepreload" href="/${path.basename(i.path)}">`).join('\n');
  const html = readFileSync('src/desktop/web/index.html', 'utf8').replace('__JS__', js).replace('__CSS__', css).replace('<!--PRELOADS-->', preloads);
  writeFileSync(path.join(out, 'index.html'), html);
  // xterm's stylesheet, linked by the terminal chunk when it loads
  copyFileSync('node_modules/@xterm/xterm/css/xterm.css', path.join(out, 'xterm.css'));
}

/** Bun from the pinned npm package (@oven/bun-linux-x64, an optional dependency: absent on other platforms). */
function bunBinary() {
  try {
    const pkg = createRequire(import.meta.url).resolve('@oven/bun-linux-x64/package.json');
    const bin = pkg.replace(/package\.json$/, 'bin/bun');
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
    return bin;
  } catch {
    return undefined;
  }
}

// The executable is written beside and renamed over dist/berth: a running CLI keeps its old file.
const exe = 'dist/berth';
const bun = process.env.BERTH_CLI_RUNTIME === 'node' ? undefined : bunBinary();
let compiled = false;
if (bun) {
  try {
    // --bytecode: precompiled bytecode, no parse at start-up (23 ms → 10 ms for --version here).
    // No .env / bunfig.toml autoloading: the CLI's environment is the caller's, as with docker.
    execFileSync(bun, ['build', '--compile', '--bytecode', '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
      'src/cli/bin.ts', '--outfile', `${exe}.new`], { stdio: ['ignore', 'ignore', 'inherit'] });
    renameSync(`${exe}.new`, exe);
    compiled = true;
  } catch (err) {
    rmSync(`${exe}.new`, { force: true });
    console.error(`bundle: bun build --compile failed (${err.message.split('\n')[0]}); bin/berth runs the CLI on Node`);
  }
} else if (process.env.BERTH_CLI_RUNTIME !== 'node') {
  console.error('bundle: no Bun for this platform (@oven/bun-linux-x64 not installed); bin/berth runs the CLI on Node');
}
if (!compiled) {
  rmSync(exe, { force: true });
  symlinkSync('../bin/berth-node', exe);
}
if (!existsSync(exe)) throw new Error(`${exe} missing`);
