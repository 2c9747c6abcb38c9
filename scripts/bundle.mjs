// Bundles the CLI, the daemon and the registry server into single files under dist/, plus the daemon's
// workers: unpack (a worker_thread per layer being unpacked, also cp extraction; src/storage/unpack.ts finds it
// beside itself) and archive-pack (cp and export of directory trees). Then builds dist/berth, the executable
// bin/berth points at: the CLI compiled by Bun into a single executable (starts in ~10 ms where Node takes ~80),
// or, where Bun cannot be had, a link to bin/berth-node (the same CLI on Node).
// Why separate: every CLI command pays Node's start-up plus the cost of parsing its bundle,
// so the CLI bundle must not carry the daemon (engine, runtime, storage) or the registry server
// (and its bcryptjs) with it; `berth registry serve` requires dist/registry-server.js at run time.
import { build } from 'esbuild';
import { execFileSync } from 'child_process';
import { existsSync, renameSync, rmSync, symlinkSync } from 'fs';
import { createRequire } from 'module';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };
await Promise.all([
  // bun:ffi is only required inside the Bun executable (node-handoff.ts)
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', external: ['bun:ffi'] }),
  // cp's local side (tar writing and extraction), loaded by `cp` alone: the other commands do not parse it
  build({ ...common, entryPoints: ['src/cli/commands/cp-archive.ts'], outfile: 'dist/cli-archive.js' }),
  build({ ...common, entryPoints: ['src/daemon/main.ts'], outfile: 'dist/daemon.js', external: ['koffi'] }), // native: loaded from node_modules
  build({ ...common, entryPoints: ['src/registry/main.ts'], outfile: 'dist/registry-server.js' }),
  // `berth rootless setup USER` (src/rootless/setup.ts), loaded by that command alone
  build({ ...common, entryPoints: ['src/rootless/setup.ts'], outfile: 'dist/rootless-setup.js' }),
  build({ ...common, entryPoints: ['src/storage/unpack-worker.ts'], outfile: 'dist/unpack-worker.js', external: ['koffi'] }),
  // cp/export: packs directory trees with synchronous syscalls (src/storage/archive-stream.ts finds it beside itself)
  build({ ...common, entryPoints: ['src/storage/archive-pack-worker.ts'], outfile: 'dist/archive-pack-worker.js', external: ['koffi'] }),
]);

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
