// Levelled logs on stderr, in logfmt like dockerd's: time="…" level=info msg="…" key=value.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: Level = 'info';

export function setLogLevel(level: Level): void { threshold = level; }

function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (order[level] < order[threshold]) return;
  let line = `time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}`;
  for (const [k, v] of Object.entries(fields ?? {})) line += ` ${k}=${JSON.stringify(v)}`;
  process.stderr.write(line + '\n');
}

export const log = {
  /** whether a line at `level` is written (to skip building what would not be logged) */
  enabled: (level: Level) => order[level] >= order[threshold],
  debug: (msg: string, f?: Record<string, unknown>) => emit('debug', msg, f),
  info: (msg: string, f?: Record<string, unknown>) => emit('info', msg, f),
  warn: (msg: string, f?: Record<string, unknown>) => emit('warn', msg, f),
  error: (msg: string, f?: Record<string, unknown>) => emit('error', msg, f),
};
