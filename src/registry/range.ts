// HTTP Range for blob downloads (RFC 9110 §14): one byte range, which is what resuming clients send.
// A syntactically invalid or multi-range header is ignored (the whole blob is served, which the RFC
// allows); a valid range that starts past the end is "unsatisfiable" (416).

export type RangeResult = { start: number; end: number } | 'unsatisfiable' | undefined;

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // suffix range: the last N bytes
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * An upload's Content-Range ("<start>-<end>", inclusive; some clients prefix "bytes " or add "/<total>").
 * Returns undefined when the header is absent, null when it is malformed.
 */
export function parseContentRange(header: string | undefined): { start: number; end: number } | null | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return null;
  return { start, end };
}

/** The Range header of an upload: "0-<last byte>", and "0-0" while empty (what CNCF distribution sends). */
export const uploadRange = (size: number) => `0-${Math.max(0, size - 1)}`;
