// critest v1.29.0 — the Kubernetes CRI validation suite containerd and CRI-O are tested with — against berth's
// CRI socket, offline: its images come from test/cri/images through a loopback registry. Every spec must pass
// except the ones in skip-list.ts (upstream digests), the same list bench/cri.ts uses for containerd.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'path';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import { CriFixture, criTools } from './fixture';
import { runCmd } from '../helpers/daemon';
import { CRITEST_SKIPS, parseSummary, skipRegex } from './skip-list';

let cri: CriFixture;

before(async () => { cri = await new CriFixture({ images: true, name: 'critest' }).start(); }, { timeout: 20 * 60_000 });
after(async () => { await cri?.stop(); });

test('critest v1.29.0 passes against berth (all specs but the written skip list)', { timeout: 30 * 60_000 }, async () => {
  const { critest } = criTools();
  const report = mkdtempSync(path.join(os.tmpdir(), 'berth-critest-'));
  try {
    const r = await runCmd(critest, [
      '--runtime-endpoint', `unix://${cri.socket}`, '--image-endpoint', `unix://${cri.socket}`,
      '--ginkgo.no-color', '--ginkgo.skip', skipRegex(), '--report-dir', report,
    ], { timeoutMs: 25 * 60_000 });
    const summary = parseSummary(r.stdout + r.stderr);
    const tail = (r.stdout + r.stderr).split('\n').filter((l) => /^(Ran \d+|FAIL!|SUCCESS!|\s*\[FAIL\])/.test(l));
    process.stdout.write(`critest against berth: ${tail.join(' / ')}\n`);
    for (const s of CRITEST_SKIPS) process.stdout.write(`  skipped by the written list: ${s.spec} (${s.reason})\n`);
    assert.ok(summary, `no critest summary in its output:\n${(r.stdout + r.stderr).slice(-4000)}`);
    assert.deepEqual(summary.failures, [], `failed specs:\n${(r.stdout + r.stderr).slice(-8000)}`);
    assert.equal(summary.failed, 0);
    // 83 specs: 5 benchmarks critest skips by itself, then our list
    assert.equal(summary.ran, summary.total - 5 - CRITEST_SKIPS.length);
    assert.equal(summary.passed, summary.ran);
    // nothing left behind by 77 specs' pods
    const left = cri.leftovers();
    assert.deepEqual(left, { netns: [], ipReservations: [], mounts: [], veths: [], cgroups: [] });
  } finally {
    rmSync(report, { recursive: true, force: true });
  }
});
