// Building blocks the views share: modal dialogs, error notes, a lazily loaded view, confirm-on-second-click
// buttons, the JSON viewer, and a hook for "load this, again when the engine comes back".
import type { ComponentChildren, ComponentType, CSSProperties, JSX } from 'preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import { engineEpoch } from './live';
import { useStore } from './store';

export function Modal(p: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  useEffect(() => {
    const k = (e: KeyboardEvent) => { if (e.key === 'Escape') p.onClose(); };
    addEventListener('keydown', k);
    return () => removeEventListener('keydown', k);
  }, [p.onClose]);
  return (
    <div class="overlay" onMouseDown={(e) => { if (e.target === e.currentTarget) p.onClose(); }}>
      <div class="modal" style={p.wide ? { width: 'min(900px, 96vw)' } : undefined} role="dialog" aria-label={p.title}>
        <h1>{p.title}</h1>
        {p.children}
      </div>
    </div>
  );
}

export function ErrorBox(p: { error?: string | null; onClose?: () => void }) {
  if (!p.error) return null;
  return <div class="errbox" role="alert">{p.error}{p.onClose && <button class="icon" style={{ float: 'right' }} onClick={p.onClose} title="Dismiss">✕</button>}</div>;
}

/** Loads data on mount, on `deps` changes and when the engine returns; `reload` runs it again. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[] = []): { data?: T; error?: string; loading: boolean; reload: () => void } {
  const epoch = useStore(engineEpoch);
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then((data) => { if (live) setState({ data, loading: false }); }, (err: Error) => { if (live) setState((s) => ({ data: s.data, error: err.message, loading: false })); });
    return () => { live = false; };
  }, [...deps, epoch, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

/** A view in its own chunk: loaded on first use. */
export function lazyView<P extends object>(load: () => Promise<{ default: ComponentType<P> }>): ComponentType<P> {
  let Comp: ComponentType<P> | undefined;
  return function Lazy(props: P) {
    const [, set] = useState(0);
    const [err, setErr] = useState<string>();
    useEffect(() => { if (!Comp) load().then((m) => { Comp = m.default; set(1); }, (e: Error) => setErr(e.message)); }, []);
    if (err) return <ErrorBox error={`could not load this view: ${err}`} />;
    return Comp ? <Comp {...props} /> : <div class="muted" style={{ padding: '16px' }}>Loading…</div>;
  };
}

/** A button that asks "Sure?" on the first click and acts on the second. */
export function ConfirmButton(p: { onConfirm: () => void; children: ComponentChildren; title?: string; class?: string; disabled?: boolean; confirmText?: string }) {
  const [armed, setArmed] = useState(false);
  useEffect(() => { if (!armed) return; const t = setTimeout(() => setArmed(false), 3000); return () => clearTimeout(t); }, [armed]);
  return (
    <button class={`${p.class ?? ''} ${armed ? 'danger' : ''}`} title={p.title} disabled={p.disabled}
      onClick={() => { if (armed) { setArmed(false); p.onConfirm(); } else setArmed(true); }}>
      {armed ? (p.confirmText ?? 'Sure?') : p.children}
    </button>
  );
}

/** Pretty JSON with coloured keys and values — built from text nodes, never HTML. */
export function JsonView(p: { value: unknown; style?: CSSProperties }) {
  const text = JSON.stringify(p.value, null, 2) ?? 'null';
  const parts: JSX.Element[] = [];
  const re = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parts.push(<>{text.slice(last, m.index)}</>);
    if (m[1]) parts.push(m[2] ? <><span class="j-k">{m[1]}</span>{m[2]}</> : <span class="j-s">{m[1]}</span>);
    else if (m[3]) parts.push(<span class="j-b">{m[3]}</span>);
    else parts.push(<span class="j-n">{m[4]}</span>);
    last = m.index + m[0].length;
  }
  parts.push(<>{text.slice(last)}</>);
  return <pre class="json" style={p.style}>{parts}</pre>;
}

export function StateDot(p: { state?: string }) {
  return <span class={`dot ${p.state ?? ''}`} />;
}

export function Empty(p: { children: ComponentChildren }) {
  return <div class="empty">{p.children}</div>;
}

/** Runs an action and keeps its error (the engine's own text) to show beside the object. */
export function useAction(): { busy: boolean; error?: string; run: (fn: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try { await fn(); return true; } catch (err) { setError((err as Error).message); return false; } finally { setBusy(false); }
  }, []);
  return { busy, error, run, clear: () => setError(undefined) };
}
