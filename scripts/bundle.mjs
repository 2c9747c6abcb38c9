// Bundles the CLI, the daemon and the registry server into single files under dist/, plus the daemon's
// workers: unpack (a worker_thread per layer being unpacked, also cp extraction; src/storage/unpack.ts finds it
// beside itself) and archive-pack (cp and export of directory trees).
// Why separate: every CLI command pays Node's start-up plus the cost of parsing its bundle,
// so the CLI bundle must not carry the daemon (engine, runtime, storage) or the registry server
// (and its bcryptjs) with it; `berth registry serve` requires dist/registry-server.js at run time.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };
await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' }),
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
