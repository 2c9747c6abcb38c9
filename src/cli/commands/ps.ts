// `ps` / `container ls`: GET /containers/json and docker's table (or --format) output.
import { CommandSpec, StatusError, flagDefs, Parsed } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { ContainerContext, containerFormat, containerHeaders, writeFormatted, FormatError } from '../format/formatter';
import { Template } from '../format/template';
import { filtersJson } from './util';

export const FORMAT_HELP = `Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates`;

export function command(id: string): Cmd {
  const ls = id !== 'ps';
  const spec: CommandSpec = {
    path: ls ? 'container ls' : 'ps',
    use: '[OPTIONS]',
    short: 'List containers',
    aliases: 'berth container ls, berth container list, berth container ps, berth ps',
    args: 'none',
    flags: flagDefs([
      ['q', 'quiet', 'bool', 'Only display container IDs'],
      ['s', 'size', 'bool', 'Display total file sizes'],
      ['a', 'all', 'bool', 'Show all containers (default shows just running)'],
      ['', 'no-trunc', 'bool', "Don't truncate output"],
      ['l', 'latest', 'bool', 'Show the latest created container (includes all states)'],
      ['n', 'last', 'int', 'Show n last created containers (includes all states)', '-1'],
      ['', 'format', 'string', FORMAT_HELP],
      ['f', 'filter', 'filter', 'Filter output based on conditions provided'],
    ]),
  };
  return { spec, run: (ctx, p) => runPs(ctx, p) };
}

async function runPs(ctx: Ctx, p: Parsed): Promise<number> {
  const quiet = p.bool('quiet');
  const format = p.str('format');
  if (format !== '' && quiet) ctx.err('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
  const last = p.int('last', -1);
  let limit = last;
  if (p.bool('latest') && last === -1) limit = 1;
  let size = p.bool('size');
  if (format !== '') {
    let tmpl: Template;
    try {
      tmpl = new Template(format);
    } catch (err) {
      throw new StatusError(1, `failed to parse template: ${(err as Error).message}`);
    }
    const probe = new ContainerContext({ Id: '' }, true);
    try {
      tmpl.execute(probe);
    } catch (err) {
      throw new StatusError(1, `failed to execute template: ${(err as Error).message}`);
    }
    // docker asks for sizes when the template reads .Size (unless --size was given explicitly)
    if (!quiet && !size && !p.has('size') && probe.sizeUsed) size = true;
  }
  const containers = await ctx.client().containerList({
    all: p.bool('all') ? '1' : undefined,
    limit: limit > 0 ? String(limit) : undefined,
    size: size ? '1' : undefined,
    filters: filtersJson(p.list('filter')),
  });
  const trunc = !p.bool('no-trunc');
  const now = Date.now();
  const rows = (containers ?? []).map((c) => new ContainerContext(c, trunc, now));
  try {
    ctx.out(writeFormatted(containerFormat(format, quiet, size), rows, containerHeaders));
  } catch (err) {
    if (err instanceof FormatError) throw new StatusError(1, err.message);
    throw err;
  }
  return 0;
}
