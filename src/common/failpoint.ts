// Failpoints: named places in the daemon where a fault-injection test makes an operation fail, the daemon die, or
// time pass — so that tests can prove a crash or an error at that exact place leaves no half-done work behind.
//
// BERTH_FAILPOINTS="name=action[;name=action…]", read once at start-up. Actions:
//   error         the operation fails there with a 500 "failpoint <name>: injected error"
//   crash         the daemon SIGKILLs itself there (what a power cut or the OOM killer does to it)
//   delay(ms)     the operation waits that long there (widens a race window)
// An action may be prefixed with `N*` to fire only from the N-th time the point is reached on (`3*crash`: the third
// layer of a pull, not the first). Unset, a failpoint costs one Map lookup. The names in use are listed in
// test/faults/README.md (each test there names the point it covers).
import { systemError } from './errors';
import { log } from './log';

export type FailAction = { kind: 'error' } | { kind: 'crash' } | { kind: 'delay'; ms: number };
interface Armed { action: FailAction; from: number; hits: number }

/** Parses the variable's text; throws on a malformed entry (a typo must not silently test nothing). */
export function parseFailpoints(text: string): Map<string, { action: FailAction; from: number }> {
  const out = new Map<string, { action: FailAction; from: number }>();
  for (const entry of text.split(/[;,]/).map((s) => s.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]+)=(?:(\d+)\*)?(error|crash|delay\((\d+)\))$/.exec(entry);
    if (!m) throw new Error(`BERTH_FAILPOINTS: cannot parse "${entry}" (want name=error|crash|delay(ms), optionally N*action)`);
    const action: FailAction = m[3] === 'error' ? { kind: 'error' } : m[3] === 'crash' ? { kind: 'crash' } : { kind: 'delay', ms: Number(m[4]) };
    out.set(m[1], { action, from: m[2] ? Math.max(1, Number(m[2])) : 1 });
  }
  return out;
}

let armed: Map<string, Armed> | undefined;

function table(): Map<string, Armed> {
  if (!armed) {
    armed = new Map();
    const text = process.env.BERTH_FAILPOINTS;
    if (text) {
      for (const [name, p] of parseFailpoints(text)) armed.set(name, { ...p, hits: 0 });
      log.warn('failpoints armed (fault-injection testing)', { failpoints: text });
    }
  }
  return armed;
}

/** Re-reads BERTH_FAILPOINTS (unit tests). */
export function resetFailpoints(): void { armed = undefined; }

/** The action due at this pass of `name`, if any. */
function due(name: string): FailAction | undefined {
  const p = table().get(name);
  if (!p) return undefined;
  p.hits++;
  return p.hits >= p.from ? p.action : undefined;
}

/** A failpoint in async code: may throw, kill the daemon, or wait. */
export async function failpoint(name: string): Promise<void> {
  const action = due(name);
  if (!action) return;
  if (action.kind === 'delay') { await new Promise((r) => setTimeout(r, action.ms)); return; }
  fire(name, action);
}

/** A failpoint in synchronous code (no delay there: it would block the event loop). */
export function failpointSync(name: string): void {
  const action = due(name);
  if (action && action.kind !== 'delay') fire(name, action);
}

function fire(name: string, action: FailAction): void {
  if (action.kind === 'crash') {
    process.stderr.write(`failpoint ${name}: crashing the daemon (SIGKILL)\n`);
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL to oneself is delivered before kill(2) returns; nothing after this line runs
  }
  throw systemError(`failpoint ${name}: injected error`);
}
