// jsonmessage.DisplayJSONMessagesStream: renders pull/import progress. On a terminal each layer id keeps
// its own line (cursor up/down + erase line); elsewhere progress-bar updates are skipped and only status
// lines print. An errorDetail in the stream ends it with that error.
import { readJsonStream, type JSONMessage } from '../../client';
import { humanSize, formatGoDuration, rfc3339Local } from '../format/units';

export class JSONMessageError extends Error {}

interface Out { write(s: string): unknown; isTTY?: boolean; columns?: number }

function progressString(p: NonNullable<JSONMessage['progressDetail']>, width: number): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  let percentage = Math.trunc(Math.trunc((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let pbBox = '';
  if (width > 110) {
    const numSpaces = Math.max(50 - percentage, 0);
    pbBox = `[${'='.repeat(percentage)}>${' '.repeat(numSpaces)}] `;
  }
  let numbersBox = '';
  if (!p.hidecounts) {
    if (!p.units) {
      numbersBox = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
    } else {
      numbersBox = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
    }
  }
  let timeLeftBox = '';
  if (width > 50 && current > 0 && (p.start ?? 0) > 0 && percentage < 50) {
    const fromStart = Date.now() * 1e6 - (p.start ?? 0) * 1e9;
    const perEntry = fromStart / current;
    const left = Math.round(((total - current) * perEntry) / 1e9) * 1e9;
    timeLeftBox = ' ' + formatGoDuration(left);
  }
  return pbBox + numbersBox + timeLeftBox;
}

function display(m: JSONMessage, out: Out, tty: boolean, width: number): void {
  if (m.errorDetail) throw new JSONMessageError(m.errorDetail.message ?? '');
  let endl = '';
  if (tty && !m.stream && m.progressDetail) {
    out.write('\x1b[2K\r');
    endl = '\r';
  } else if (m.progressDetail && progressString(m.progressDetail, width) !== '') {
    return;
  }
  let s = '';
  if (m.timeNano) s += rfc3339Local(m.timeNano / 1e6) + ' ';
  else if (m.time) s += rfc3339Local(m.time * 1000) + ' ';
  if (m.id) s += `${m.id}: `;
  if (m.from) s += `(from ${m.from}) `;
  if (m.progressDetail && tty) s += `${m.status ?? ''} ${progressString(m.progressDetail, width)}${endl}`;
  else if (m.progress) s += `${m.status ?? ''} ${m.progress}${endl}`;
  else if (m.stream) s += `${m.stream}${endl}`;
  else s += `${m.status ?? ''}${endl}\n`;
  out.write(s);
}

/** Reads a progress stream to its end, rendering to `out` (or nowhere). Throws the stream's error. */
export async function displayJsonMessages(stream: NodeJS.ReadableStream, out: Out | null, onAux?: (aux: unknown) => void): Promise<void> {
  const tty = !!out?.isTTY;
  const width = out?.columns || 200;
  const ids = new Map<string, number>();
  let failure: Error | undefined;
  await readJsonStream(stream, (v) => {
    if (failure) return;
    const m = v as JSONMessage;
    if (m.aux !== undefined) { onAux?.(m.aux); return; }
    if (m.error && !m.errorDetail) m.errorDetail = { message: m.error };
    if (!out) {
      if (m.errorDetail) failure = new JSONMessageError(m.errorDetail.message ?? '');
      return;
    }
    let diff = 0;
    if (m.id && (m.progressDetail || m.progress)) {
      let line = ids.get(m.id);
      if (line === undefined) {
        line = ids.size;
        ids.set(m.id, line);
        if (tty) out.write('\n');
      }
      diff = ids.size - line;
      if (tty && diff > 0) out.write(`\x1b[${diff}A`);
    } else {
      ids.clear();
    }
    try {
      display(m, out, tty, width);
    } catch (err) {
      failure = err as Error;
    }
    if (m.id && tty && diff > 0) out.write(`\x1b[${diff}B`);
  });
  if (failure) throw failure;
}
