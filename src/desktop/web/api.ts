// Calls from the page to its server: the Engine API proxy (/api/engine/…) and the dashboard's own routes.
// Errors carry the engine's own message text, so views can show it next to the object it is about.

export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly engineDown = false) { super(message); }
}

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { message?: string; engineDown?: boolean };
    return new ApiError(j.message || `${res.status} ${res.statusText}`, res.status, !!j.engineDown);
  } catch {
    return new ApiError(text.trim() || `${res.status} ${res.statusText}`, res.status);
  }
}

export interface CallOptions { method?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal }

/** A request to the dashboard server; resolves with the Response once its headers arrived (2xx only). */
export async function call(path: string, o: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  let body: BodyInit | undefined = o.raw;
  if (o.body !== undefined) { body = JSON.stringify(o.body); headers['Content-Type'] = 'application/json'; }
  let res: Response;
  try {
    res = await fetch(path, { method: o.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, signal: o.signal, credentials: 'same-origin' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('the dashboard server is not answering', 0, true);
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function json<T>(path: string, o: CallOptions = {}): Promise<T> {
  const res = await call(path, o);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Engine API through the proxy: `engine('GET', '/containers/json?all=1')`. */
export function engine<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  return json<T>('/api/engine' + path, { method, body, headers });
}

export const q = (o: Record<string, string | number | boolean | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? '?' + s : '';
};

/** Reads a streamed response line by line (logs, build output, JSON progress). */
export async function readLines(res: Response, onLines: (lines: string[]) => void, signal?: AbortSignal): Promise<void> {
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let rest = '';
  const abort = () => { reader.cancel().catch(() => undefined); };
  signal?.addEventListener('abort', abort);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = rest + dec.decode(value, { stream: true });
      const parts = text.split('\n');
      rest = parts.pop()!;
      if (parts.length) onLines(parts);
    }
    if (rest) onLines([rest]);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

/** A JSON-lines progress stream (pull, push, build): every value, in order. */
export async function readJsonStream(res: Response, onValue: (v: Record<string, unknown>) => void, signal?: AbortSignal): Promise<void> {
  await readLines(res, (lines) => {
    for (const l of lines) {
      const t = l.trim();
      if (!t) continue;
      try { onValue(JSON.parse(t)); } catch { onValue({ stream: t }); }
    }
  }, signal);
}
