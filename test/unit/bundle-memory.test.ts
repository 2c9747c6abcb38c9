// What the daemon bundle costs in memory before any code runs: V8 keeps a script's source in the heap for the
// process's life, so dist/daemon.js (scripts/bundle.mjs) stays pure ASCII (one byte a character, not two) and
// leaves the gRPC stack, which only the CRI server's first client loads, in node_modules.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'fs';
import * as path from 'path';

const DIST = path.resolve(__dirname, '../../../dist');

test('the long-running bundles are pure ASCII', () => {
  for (const name of ['daemon.js', 'registry-server.js', 'desktop-server.js', 'unpack-worker.js', 'archive-pack-worker.js']) {
    const text = readFileSync(path.join(DIST, name), 'utf8');
    const at = text.search(/[^\x00-\x7f]/);
    assert.equal(at, -1, `${name}: non-ASCII at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}`);
  }
});

test('the daemon bundle requires grpc-js and proto-loader instead of carrying them', () => {
  const text = readFileSync(path.join(DIST, 'daemon.js'), 'utf8');
  assert.ok(!text.includes('node_modules/@grpc/grpc-js/build/src/server.js'), 'grpc-js is bundled');
  assert.match(text, /require\("@grpc\/grpc-js"\)/);
  assert.match(text, /require\("@grpc\/proto-loader"\)/);
});
