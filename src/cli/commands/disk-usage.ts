// system df: the daemon's disk usage, summarized (TYPE TOTAL ACTIVE SIZE RECLAIMABLE) or, with -v, per object.
import { CommandSpec, StatusError, flagDefs } from '../command';
import type { Cmd } from '../cmd';
import { FORMAT_HELP } from './ps';

export function command(id: string): Cmd {
  if (id !== 'system df') throw new Error(`unknown command ${id}`);
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'Show berth disk usage',
    args: 'none',
    flags: flagDefs([
      ['', 'format', 'string', FORMAT_HELP],
      ['v', 'verbose', 'bool', 'Show detailed information on space usage'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const du = await ctx.client().diskUsage();
      const f = require('../format/disk-usage') as typeof import('../format/disk-usage');
      const { writeFormatted, FormatError } = require('../format/formatter') as typeof import('../format/formatter');
      const format = p.str('format') || 'table';
      try {
        if (p.bool('verbose')) ctx.out(f.verboseDiskUsage(format, du));
        else ctx.out(writeFormatted(f.diskUsageFormat(format), f.diskUsageRows(du), f.diskUsageHeaders));
      } catch (err) {
        if (err instanceof FormatError) throw new StatusError(1, err.message);
        throw err;
      }
      return 0;
    },
  };
}
