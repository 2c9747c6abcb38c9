// events / system events: the daemon's event stream, printed like docker's (RFC 3339 time with nanoseconds, type,
// action, actor id, sorted attributes) or through --format; --since/--until take docker's timestamp forms.
import { CommandSpec, StatusError, flagDefs } from '../command';
import type { Cmd } from '../cmd';
import { readJsonStream } from '../../client';
import { parseTemplate, TemplateError } from '../format/template';
import { parseGoDuration } from '../format/units';
import { filtersJson } from './util';

interface Event { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; time?: number; timeNano?: number; status?: string; id?: string; from?: string }

/** docker's GetTimestamp on the client: unix seconds stay, durations count back from now, dates become seconds. */
export function timestamp(value: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  try {
    const ns = parseGoDuration(value);
    return ((now - ns / 1e6) / 1000).toFixed(9).replace(/\.?0+$/, '');
  } catch { /* not a duration */ }
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value);
  if (Number.isNaN(ms)) throw new StatusError(1, `invalid value for time: ${value}`);
  return String(ms / 1000);
}

/** Go's RFC3339Nano with fixed nine digits, in UTC ("Z"), as jsonmessage prints event times. */
export function eventTime(timeNano: number): string {
  const ns = BigInt(Math.round(timeNano));
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(secs) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

export function eventLine(ev: Event): string {
  const time = eventTime(ev.timeNano ?? (ev.time ?? 0) * 1e9);
  const attrs = Object.entries(ev.Actor?.Attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`);
  return `${time} ${ev.Type} ${ev.Action} ${ev.Actor?.ID ?? ''}${attrs.length ? ` (${attrs.join(', ')})` : ''}\n`;
}

export function command(id: string): Cmd {
  const spec: CommandSpec = {
    path: id, use: '[OPTIONS]', short: 'Get real time events from the server', args: 'none',
    aliases: 'berth system events, berth events',
    flags: flagDefs([
      ['f', 'filter', 'filter', 'Filter output based on conditions provided'],
      ['', 'format', 'string', "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"],
      ['', 'since', 'string', 'Show all events created since timestamp'],
      ['', 'until', 'string', 'Stream events until this timestamp'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const format = p.str('format');
      let tmpl: ReturnType<typeof parseTemplate> | undefined;
      if (format && format !== 'json') {
        try { tmpl = parseTemplate(format); } catch (err) { throw new StatusError(64, (err as TemplateError).message); }
      }
      const q: Record<string, string | undefined> = {
        filters: filtersJson(p.list('filter')),
        since: p.str('since') ? timestamp(p.str('since')) : undefined,
        until: p.str('until') ? timestamp(p.str('until')) : undefined,
      };
      const res = await ctx.client().events(q);
      await readJsonStream(res, (v) => {
        const ev = v as Event;
        if (format === 'json') ctx.out(JSON.stringify(ev) + '\n');
        else if (tmpl) ctx.out(tmpl.execute(ev) + '\n');
        else ctx.out(eventLine(ev));
      });
      return 0;
    },
  };
}
