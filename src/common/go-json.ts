// Go's encoding/json matches JSON field names to struct fields case-insensitively, so dockerd takes
// `CPURealtimeRuntime` for `CpuRealtimeRuntime` and `detachKeys` for `DetachKeys`; clients (docker-py) rely on it.

/** Renames keys that match a known field but for case; the exact name wins when both are given. */
export function canonicalKeys(obj: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const byLower = new Map(fields.map((f) => [f.toLowerCase(), f]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const canon = fields.includes(k) ? k : byLower.get(k.toLowerCase()) ?? k;
    if (canon !== k && canon in obj) continue;
    out[canon] = v;
  }
  return out;
}
