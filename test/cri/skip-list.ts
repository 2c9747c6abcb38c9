// The critest specs skipped when berth or containerd is validated offline, and why. Only specs that need an
// upstream registry's exact content may be here; everything else must pass. The same list is used for
// containerd in bench/cri.ts, so both runtimes are measured on the same specs.
export const CRITEST_SKIPS: Array<{ spec: string; reason: string }> = [
  {
    spec: 'public image with digest should be pulled and removed',
    reason: 'pulls gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:9700f9a2…: a digest of upstream bytes that no image built offline can have',
  },
];

/** The --ginkgo.skip regular expression for the list. */
export function skipRegex(): string {
  return CRITEST_SKIPS.map((s) => s.spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

/** critest's closing summary: "Ran 77 of 83 Specs …" and "… 77 Passed | 0 Failed | 0 Pending | 6 Skipped". */
export function parseSummary(out: string): { ran: number; total: number; passed: number; failed: number; skipped: number; failures: string[] } | undefined {
  const ran = /Ran (\d+) of (\d+) Specs/.exec(out);
  const counts = /(\d+) Passed \| (\d+) Failed \| \d+ Pending \| (\d+) Skipped/.exec(out);
  if (!ran || !counts) return undefined;
  const failures = [...out.matchAll(/^\s*\[FAIL\] (.*)$/gm)].map((m) => m[1].trim());
  return { ran: +ran[1], total: +ran[2], passed: +counts[1], failed: +counts[2], skipped: +counts[3], failures };
}
