// Bundles the CLI and the daemon into two single files under dist/, plus the daemon's unpack worker.
// Why two: every CLI command pays Node's start-up plus the cost of parsing its bundle,
// so the CLI bundle must not carry the daemon (engine, runtime, storage) with it.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', legalComments: 'none' };
await Promise.all([
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' }),
  build({ ...common, entryPoints: ['src/daemon/main.ts'], outfile: 'dist/daemon.js', external: ['koffi'] }), // native: loaded from node_modules
  // the layer unpack worker (a worker_thread the daemon starts per layer; src/storage/unpack.ts finds it beside itself)
  build({ ...common, entryPoints: ['src/storage/unpack-worker.ts'], outfile: 'dist/unpack-worker.js', external: ['koffi'] }),
]);
