// The daemon's side of `berth-shim --launcher` where the launcher cannot run: launches fail with a reason and the
// launcher is marked broken, so Shim.spawn forks the shim directly instead (no root or crun needed here).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ShimLauncher } from '../../src/runtime/shim-launcher';

test('a launcher that cannot be started rejects its launches and is marked broken (Shim.spawn then spawns directly)', async () => {
  const launcher = new ShimLauncher('/nonexistent/berth-shim');
  await assert.rejects(launcher.launch(['/nonexistent/berth-shim', '--id', 'x']), /container shim launcher failed/);
  assert.equal(launcher.broken, true);
});

test('a launcher that exits with requests in flight rejects them, and the next launch starts it again', async () => {
  const launcher = new ShimLauncher('/bin/sh');
  // `sh --launcher` fails at once: an exit, not a failure to start
  await assert.rejects(launcher.launch(['/bin/true']), /container shim launcher exited/);
  assert.equal(launcher.broken, false);
  await assert.rejects(launcher.launch(['/bin/true']), /container shim launcher exited/);
});
