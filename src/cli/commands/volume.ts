// The `volume` group: create, ls, inspect, rm, prune — docker's flags, request bodies, output and messages.
import { CommandSpec, StatusError, flagDefs, BIN } from '../command';
import type { Cmd } from '../cmd';
import { confirm, filtersJson, naturalCompare, validateLabel } from './util';

export function command(id: string): Cmd {
  switch (id) {
    case 'volume create': return createCommand(id);
    case 'volume ls': return lsCommand(id);
    case 'volume inspect': return inspectCommand(id);
    case 'volume rm': return rmCommand(id);
    case 'volume prune': return pruneCommand(id);
  }
  throw new Error(`unknown command ${id}`);
}

/** The client library's check on names: surrounding blanks go, and nothing left is refused locally. */
function trimRef(ref: string): string {
  const t = ref.trim();
  if (t === '') throw new Error('invalid volume name or ID: value is empty');
  return t;
}

/** opts.ConvertKVStringsToMap / MapOpts: "k=v" pairs, a bare "k" maps to ""; keys sorted as Go marshals maps. */
function kvMap(values: string[]): Record<string, string> {
  const m = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    m.set(eq < 0 ? v : v.slice(0, eq), eq < 0 ? '' : v.slice(eq + 1));
  }
  const out: Record<string, string> = {};
  for (const k of [...m.keys()].sort()) out[k] = m.get(k)!;
  return out;
}

function createCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] [VOLUME]',
    short: 'Create a volume',
    args: { max: 1 },
    flags: flagDefs([
      ['d', 'driver', 'string', 'Specify volume driver name', '"local"'],
      ['', 'label', 'list', 'Set metadata for a volume'],
      ['', 'name', 'string', 'Specify volume name', '', 'hidden'],
      ['o', 'opt', 'map', 'Set driver specific options', 'map[]'],
    ]),
  };
  return {
    spec,
    validators: { label: validateLabel },
    async run(ctx, p) {
      let name = p.str('name');
      if (p.args.length === 1) {
        if (name !== '') throw new StatusError(1, 'conflicting options: cannot specify a volume-name through both --name and as a positional arg');
        name = p.args[0];
      }
      // field order and zero values as docker's client marshals volume.CreateOptions
      const body = { Driver: p.str('driver', 'local'), DriverOpts: kvMap(p.list('opt')), Labels: kvMap(p.list('label')), Name: name };
      const vol = await ctx.client().volumeCreate(body);
      ctx.out(`${vol?.Name ?? ''}\n`);
      return 0;
    },
  };
}

function lsCommand(id: string): Cmd {
  const { FORMAT_HELP } = require('./ps') as typeof import('./ps');
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'List volumes',
    aliases: `${BIN} volume ls, ${BIN} volume list`,
    args: 'none',
    flags: flagDefs([
      ['f', 'filter', 'filter', 'Provide filter values (e.g. "dangling=true")'],
      ['', 'format', 'string', FORMAT_HELP],
      ['q', 'quiet', 'bool', 'Only display volume names'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const res = await ctx.client().volumeList(filtersJson(p.list('filter')));
      const list = [...(res?.Volumes ?? [])].sort((a, b) => naturalCompare(a.Name ?? '', b.Name ?? ''));
      const { VolumeRow, volumeFormat, volumeHeaders } = require('../format/volume') as typeof import('../format/volume');
      const { writeFormatted, FormatError } = require('../format/formatter') as typeof import('../format/formatter');
      try {
        ctx.out(writeFormatted(volumeFormat(p.str('format') || 'table', p.bool('quiet')), list.map((v) => new VolumeRow(v)), volumeHeaders));
      } catch (err) {
        if (err instanceof FormatError) throw new StatusError(1, err.message);
        throw err;
      }
      return 0;
    },
  };
}

function inspectCommand(id: string): Cmd {
  const { INSPECT_FORMAT_HELP, inspectRefs } = require('./system') as typeof import('./system');
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] VOLUME [VOLUME...]',
    short: 'Display detailed information on one or more volumes',
    args: { min: 1 },
    flags: flagDefs([['f', 'format', 'string', INSPECT_FORMAT_HELP]]),
  };
  return {
    spec,
    run: (ctx, p) => inspectRefs(ctx, p.args, p.str('format'), async (ref) => ctx.client().volumeInspectRaw(trimRef(ref))),
  };
}

function rmCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] VOLUME [VOLUME...]',
    // docker's help shows its long description here
    short: 'Remove one or more volumes. You cannot remove a volume that is in use by a container.',
    aliases: `${BIN} volume rm, ${BIN} volume remove`,
    args: { min: 1 },
    flags: flagDefs([['f', 'force', 'bool', 'Force the removal of one or more volumes']]),
  };
  return {
    spec,
    async run(ctx, p) {
      const client = ctx.client();
      const errs: string[] = [];
      for (const name of p.args) {
        try {
          await client.volumeRemove(trimRef(name), p.bool('force'));
          ctx.out(name + '\n');
        } catch (err) {
          errs.push((err as Error).message);
        }
      }
      if (errs.length) throw new StatusError(1, errs.join('\n'));
      return 0;
    },
  };
}

const ANONYMOUS_WARNING = 'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?';
const ALL_WARNING = 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

function pruneCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'Remove unused local volumes',
    args: 'none',
    flags: flagDefs([
      ['a', 'all', 'bool', 'Remove all unused volumes, not just anonymous ones'],
      ['', 'filter', 'filter', 'Provide filter values (e.g. "label=<label>")'],
      ['f', 'force', 'bool', 'Do not prompt for confirmation'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const filters = [...p.list('filter')];
      let warning = ANONYMOUS_WARNING;
      if (p.bool('all')) {
        if (filters.some((f) => f.split('=')[0].trim().toLowerCase() === 'all')) {
          throw new StatusError(1, 'conflicting options: cannot specify both --all and --filter all=1');
        }
        filters.push('all=true');
        warning = ALL_WARNING;
      }
      // a "no" is not an error: docker exits 0 without output
      if (!p.bool('force') && !(await confirm(ctx, warning))) return 0;
      const report = await ctx.client().volumesPrune(filtersJson(filters));
      const deleted = report?.VolumesDeleted ?? [];
      let reclaimed = 0;
      if (deleted.length) {
        ctx.out(`Deleted Volumes:\n${deleted.map((n) => n + '\n').join('')}\n`);
        reclaimed = report?.SpaceReclaimed ?? 0;
      }
      const { humanSize } = require('../format/units') as typeof import('../format/units');
      ctx.out(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
      return 0;
    },
  };
}

