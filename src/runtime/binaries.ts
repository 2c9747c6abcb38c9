// Where the C helpers built by `npm run build` live, seen from the bundle (dist/daemon.js) and from the
// tsc output the tests run (build/src/runtime/*.js).
import { existsSync } from 'fs';
import * as path from 'path';

/** `rel` is relative to the repository, e.g. 'src/runtime/shim/berth-shim'. */
export function builtBinary(rel: string): string | undefined {
  const candidates = [path.resolve(__dirname, '..', rel), path.resolve(__dirname, '../../..', rel)];
  return candidates.find((p) => existsSync(p));
}
