// Progress of an operation, the way Docker Compose v2 shows it: on a TTY one line per object ("Container p-web-1
// Started") under a "[+] Running 3/3" header, redrawn every 100 ms with a spinner and a timer; otherwise plain
// lines (" Container p-web-1 Started"), JSON lines ({"id":…,"status":"Done","text":"Started"}) or nothing.
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'quiet' | 'json';
export type Status = 'working' | 'done' | 'warning' | 'error';

export interface ProgressEvent {
  id: string;
  text: string;
  status: Status;
  details?: string;
}

export interface Progress {
  /** Starts the display of an operation ("Running", "Stopping", …: the TTY header's verb). */
  start(operation: string): void;
  event(e: ProgressEvent): void;
  /** Final redraw; the display stops (log output may follow). */
  done(): void;
}

export interface ProgressOptions {
  mode: ProgressMode;
  out: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  /** Whether colours are allowed (NO_COLOR, --ansi never). */
  color?: boolean;
}

export function createProgress(o: ProgressOptions): Progress {
  const mode = o.mode === 'auto' ? (o.out.isTTY ? 'tty' : 'plain') : o.mode;
  if (mode === 'quiet') return { start() {}, event() {}, done() {} };
  if (mode === 'json') {
    return {
      start() {},
      event(e) { o.out.write(JSON.stringify({ id: e.id, status: statusText(e.status), text: e.text, ...(e.details ? { details: e.details } : {}) }) + '\n'); },
      done() {},
    };
  }
  if (mode === 'plain') {
    // fmt.Fprintln("", id, text, details): operands joined by spaces
    return { start() {}, event(e) { o.out.write(` ${e.id} ${e.text} ${e.details ?? ''}\n`); }, done() {} };
  }
  return new TtyProgress(o.out, o.color !== false);
}

const statusText = (s: Status) => (s === 'working' ? 'Working' : s === 'done' ? 'Done' : s === 'warning' ? 'Warning' : 'Error');

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

interface Task { id: string; text: string; status: Status; details: string; start: number; end: number; spin: number; spinAt: number }

class TtyProgress implements Progress {
  private tasks = new Map<string, Task>();
  private lines = 0;
  private timer?: NodeJS.Timeout;
  private operation = 'Running';

  constructor(private out: ProgressOptions['out'], private color: boolean) {}

  start(operation: string): void {
    this.operation = operation;
    this.timer = setInterval(() => this.print(), 100);
    this.timer.unref?.();
  }

  event(e: ProgressEvent): void {
    const now = Date.now();
    const t = this.tasks.get(e.id);
    if (!t) {
      this.tasks.set(e.id, { id: e.id, text: e.text, status: e.status, details: e.details ?? '', start: now, end: e.status === 'working' ? 0 : now, spin: 0, spinAt: now });
      return;
    }
    if (e.status !== 'working' && t.status === 'working') t.end = now;
    if (e.status === 'working' && t.status !== 'working') { t.end = 0; }
    t.status = e.status;
    t.text = e.text;
    t.details = e.details ?? '';
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.print();
  }

  private paint(code: string, s: string): string { return this.color ? `\x1b[${code}m${s}\x1b[0m` : s; }

  private print(): void {
    if (!this.tasks.size) return;
    const width = (this.out as { columns?: number }).columns || 80;
    const now = Date.now();
    const tasks = [...this.tasks.values()];
    const doneCount = tasks.filter((t) => t.status !== 'working').length;
    let buf = '\x1b[?25l';
    if (this.lines) buf += `\x1b[${this.lines}A`;
    buf += '\r' + `[+] ${this.operation} ${doneCount}/${tasks.length}\x1b[K\n`;
    const timers = tasks.map((t) => `${(((t.end || now) - t.start) / 1000).toFixed(1)}s`);
    const timerLen = Math.max(...timers.map((x) => x.length));
    const idLen = Math.max(...tasks.map((t) => t.id.length));
    const statusLen = Math.max(...tasks.map((t) => t.text.length));
    tasks.forEach((t, i) => {
      let spinner: string;
      if (t.status === 'done') spinner = this.paint('32', '✔');
      else if (t.status === 'error') spinner = this.paint('31', '✘');
      else if (t.status === 'warning') spinner = this.paint('33', '!');
      else {
        if (now - t.spinAt > 100) { t.spin = (t.spin + 1) % SPINNER.length; t.spinAt = now; }
        spinner = this.paint('34', SPINNER[t.spin]);
      }
      const statusColor = t.status === 'done' ? '32' : t.status === 'error' ? '31' : t.status === 'warning' ? '33' : '';
      let details = t.details ? ` ${t.details}` : '';
      const before = 3 + idLen + 1 + statusLen;
      const room = width - before - details.length - 1 - timerLen;
      if (room < 0 && details) details = details.length + room > 4 ? details.slice(0, details.length + room - 3) + '...' : '';
      const pad = Math.max(width - 1 - (before + details.length) - timerLen, 1);
      const status = statusColor ? this.paint(statusColor, t.text.padEnd(statusLen)) : t.text.padEnd(statusLen);
      buf += ` ${spinner} ${t.id.padEnd(idLen)} ${status}${details}${' '.repeat(pad)}${this.paint('34', timers[i].padStart(timerLen))}\x1b[K\n`;
    });
    buf += '\x1b[?25h';
    this.out.write(buf);
    this.lines = tasks.length + 1;
  }
}
