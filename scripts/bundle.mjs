// Bundles the CLI, the daemon and the registry server into single files under dist/, plus the daemon's
// unpack worker (a worker_thread per layer being unpacked; src/storage/unpack.ts finds it beside itself).
// Why separate: every CLI command pays Node's start-up plus the cost of parsing its bundle,
// so the CLI bundle must not carry the daemon (engine, runtime, storage) or the registry server
// (and its bcryptjs) with it; `berth registry serve` requires dist/registry-server.js at run time.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };
await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' }),
  build({ ...common, entryPoints: ['src/daemon/main.ts'], outfile: 'dist/daemon.js', external: ['koffi'] }), // native: loaded from node_modules
  build({ ...common, entryPoints: ['src/registry/main.ts'], outfile: 'dist/registry-server.js' }),
  build({ ...common, entryPoints: ['src/storage/unpack-worker.ts'], outfile: 'dist/unpack-worker.js', external: ['koffi'] }),
]);
