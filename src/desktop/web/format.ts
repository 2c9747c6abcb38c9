// Numbers and times as the docker CLI shows them (units of 1000 for sizes, "2 minutes ago").

export function bytes(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(digits)} ${units[i]}`;
}

/** Binary units for memory (docker stats shows MiB/GiB). */
export function mib(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function ago(unixSeconds: number | undefined, now = Date.now()): string {
  if (!unixSeconds) return '—';
  const s = Math.max(0, Math.round(now / 1000 - unixSeconds));
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m}m ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h ago`;
  return `${Math.round(h / 24)}d ago`;
}

export const shortId = (id: string | undefined) => (id ?? '').replace(/^sha256:/, '').slice(0, 12);

export const containerName = (c: { Names?: string[]; Id: string }) => (c.Names?.[0] ?? '').replace(/^\//, '') || shortId(c.Id);
