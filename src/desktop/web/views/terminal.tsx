// The exec terminal (its own chunk, with xterm.js): a websocket to /api/terminal bridged by the server to a
// hijacked exec stream. Keystrokes go out as binary frames, output comes back the same way; resizes and the
// shell's exit travel as small JSON text frames.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal as XTerm } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

let cssLoaded = false;
function loadCss(): void {
  if (cssLoaded) return;
  cssLoaded = true;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/xterm.css';
  document.head.appendChild(link);
}

export default function Terminal(p: { id: string }) {
  const el = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState('connecting…');
  const [session, setSession] = useState(0);

  useEffect(() => {
    loadCss();
    const term = new XTerm({
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace', fontSize: 13, cursorBlink: true, scrollback: 5000,
      theme: { background: '#0f141c', foreground: '#d7dde8', cursor: '#93c5fd', selectionBackground: '#334155' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el.current!);
    fit.fit();
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/api/terminal?id=${encodeURIComponent(p.id)}&cols=${term.cols}&rows=${term.rows}`);
    ws.binaryType = 'arraybuffer';
    const enc = new TextEncoder();
    ws.onopen = () => { setStatus('connected'); term.focus(); };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        const m = JSON.parse(ev.data) as { type: string; code?: number | null; message?: string };
        if (m.type === 'exit') { term.write(`\r\n\x1b[2m[process exited${m.code !== null && m.code !== undefined ? ` with code ${m.code}` : ''}]\x1b[0m\r\n`); setStatus('exited'); }
        if (m.type === 'error') { term.write(`\r\n\x1b[31m${m.message}\x1b[0m\r\n`); setStatus('failed'); }
        return;
      }
      term.write(new Uint8Array(ev.data as ArrayBuffer));
    };
    ws.onclose = () => setStatus((s) => (s === 'connected' || s === 'connecting…' ? 'disconnected' : s));
    const input = term.onData((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(enc.encode(d)); });
    const bin = term.onBinary((d) => { if (ws.readyState === WebSocket.OPEN) ws.send(Uint8Array.from(d, (c) => c.charCodeAt(0))); });
    const resized = term.onResize(({ cols, rows }) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols, rows })); });
    const ro = new ResizeObserver(() => { try { fit.fit(); } catch { /* detached */ } });
    ro.observe(el.current!);
    return () => { ro.disconnect(); input.dispose(); bin.dispose(); resized.dispose(); ws.close(); term.dispose(); };
  }, [p.id, session]);

  return (
    <>
      <div class="logbar">
        <span class="muted">Shell: bash if the image has it, else sh</span>
        <span class="spacer" />
        <span class="muted" data-testid="term-status">{status}</span>
        {(status === 'exited' || status === 'disconnected' || status === 'failed') && <button class="small" onClick={() => { setStatus('connecting…'); setSession((n) => n + 1); }}>Reconnect</button>}
      </div>
      <div class="termbox" data-testid="terminal"><div ref={el} style={{ position: 'absolute', inset: '6px' }} /></div>
    </>
  );
}
