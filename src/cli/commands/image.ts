// Image commands: images / image ls, rmi / image rm, tag, import.
import { CommandSpec, StatusError, flagDefs, Parsed, BIN } from '../command';
import type { Cmd, Ctx } from '../main';
import { ApiError } from '../../client';
import { imageFormat, imageHeaders, imageRows, writeFormatted, FormatError } from '../format/formatter';
import { filtersJson } from './util';
import { FORMAT_HELP } from './ps';
import { parseAnyReference, parseNormalizedNamed, ReferenceError } from './reference';

export function command(id: string): Cmd {
  switch (id) {
    case 'images': case 'image ls': return imagesCommand(id);
    case 'rmi': case 'image rm': return rmiCommand(id);
    case 'tag': case 'image tag': return tagCommand(id);
    case 'import': case 'image import': return importCommand(id);
  }
  throw new Error(`unknown command ${id}`);
}

function imagesCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] [REPOSITORY[:TAG]]',
    short: 'List images',
    aliases: `${BIN} image ls, ${BIN} image list, ${BIN} images`,
    args: { max: 1 },
    flags: flagDefs([
      ['q', 'quiet', 'bool', 'Only show image IDs'],
      ['a', 'all', 'bool', 'Show all images (default hides intermediate images)'],
      ['', 'no-trunc', 'bool', "Don't truncate output"],
      ['', 'digests', 'bool', 'Show digests'],
      ['', 'format', 'string', FORMAT_HELP],
      ['f', 'filter', 'filter', 'Filter output based on conditions provided'],
      ['', 'tree', 'bool', 'List multi-platform images as a tree (EXPERIMENTAL)'],
    ]),
  };
  return { spec, run: (ctx, p) => runImages(ctx, p, id) };
}

async function runImages(ctx: Ctx, p: Parsed, id: string): Promise<number> {
  const filters = [...p.list('filter')];
  const match = p.args[0];
  if (match) filters.push(`reference=${match}`);
  if (p.bool('tree')) {
    if (p.bool('quiet')) throw new StatusError(1, '--quiet is not yet supported with --tree');
    if (p.bool('no-trunc')) throw new StatusError(1, '--no-trunc is not yet supported with --tree');
    if (p.bool('digests')) throw new StatusError(1, '--show-digest is not yet supported with --tree');
    if (p.str('format')) throw new StatusError(1, '--format is not yet supported with --tree');
    throw new StatusError(1, '--tree is not supported by berth yet');
  }
  const images = await ctx.client().imageList({ all: p.bool('all') ? '1' : undefined, filters: filtersJson(filters) });
  const format = p.str('format') || 'table';
  const trunc = !p.bool('no-trunc');
  const digest = p.bool('digests');
  const f = imageFormat(format, p.bool('quiet'), digest);
  const rows = imageRows(images ?? [], { trunc, digest, format: f });
  try {
    ctx.out(writeFormatted(f, rows, imageHeaders));
  } catch (err) {
    if (err instanceof FormatError) throw new StatusError(1, err.message);
    throw err;
  }
  if (match && (images ?? []).length === 0 && id === 'images') {
    if (['build', 'history', 'import', 'inspect', 'list', 'load', 'ls', 'prune', 'pull', 'push', 'rm', 'save', 'tag'].includes(match)) {
      ctx.err(`\nNo images found matching "${match}": did you mean "${BIN} image ${match}"?\n`);
    }
  }
  return 0;
}

function rmiCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] IMAGE [IMAGE...]',
    short: 'Remove one or more images',
    aliases: `${BIN} image rm, ${BIN} image remove, ${BIN} rmi`,
    args: { min: 1 },
    flags: flagDefs([
      ['f', 'force', 'bool', 'Force removal of the image'],
      ['', 'no-prune', 'bool', 'Do not delete untagged parents'],
      ['', 'platform', 'strings', 'Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const force = p.bool('force');
      const errs: string[] = [];
      let fatal = false;
      for (const img of p.args) {
        try {
          const dels = await ctx.client().imageRemove(img, {
            force: force ? '1' : undefined,
            noprune: p.bool('no-prune') ? '1' : undefined,
            platforms: p.list('platform').length ? p.list('platform').map((pl) => JSON.stringify(platformObj(pl))) : undefined,
          });
          for (const d of dels ?? []) ctx.out(d.Deleted ? `Deleted: ${d.Deleted}\n` : `Untagged: ${d.Untagged}\n`);
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) fatal = true;
          errs.push((err as Error).message);
        }
      }
      if (errs.length) {
        if (!force || fatal) throw new StatusError(1, errs.join('\n'));
        ctx.err(errs.join('\n') + '\n');
      }
      return 0;
    },
  };
}

function platformObj(s: string): Record<string, string> {
  const [os, architecture, variant] = s.split('/');
  const o: Record<string, string> = { os };
  if (architecture) o.architecture = architecture;
  if (variant) o.variant = variant;
  return o;
}

function tagCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    aliases: `${BIN} image tag, ${BIN} tag`,
    args: { exact: 2 },
    flags: [],
  };
  return {
    spec,
    async run(ctx, p) {
      const [source, target] = p.args;
      const wrap = (r: string, err: Error) => new StatusError(1, `Error parsing reference: ${JSON.stringify(r)} is not a valid repository/tag: ${err.message}`);
      try { parseAnyReference(source); } catch (err) { throw wrap(source, err as Error); }
      let ref;
      try {
        ref = parseNormalizedNamed(target);
      } catch (err) {
        if (err instanceof ReferenceError) throw wrap(target, err);
        throw err;
      }
      if (ref.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
      await ctx.client().imageTag(source, `${ref.domain}/${ref.path}`, ref.tag ?? 'latest');
      return 0;
    },
  };
}

function importCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
    short: 'Import the contents from a tarball to create a filesystem image',
    aliases: `${BIN} image import, ${BIN} import`,
    args: { min: 1 },
    flags: flagDefs([
      ['c', 'change', 'list', 'Apply Dockerfile instruction to the created image'],
      ['m', 'message', 'string', 'Set commit message for imported image'],
      ['', 'platform', 'string', 'Set platform if server is multi-platform capable'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const [source, reference] = p.args;
      if (reference) {
        try { parseNormalizedNamed(reference); } catch (err) { throw new StatusError(1, (err as Error).message); }
      }
      let body: NodeJS.ReadableStream | undefined;
      let fromSrc = source;
      if (source === '-') {
        body = process.stdin;
      } else if (!/^https?:\/\//.test(source)) {
        const fs: typeof import('fs') = require('fs');
        try {
          fs.accessSync(source, fs.constants.R_OK);
          if (fs.statSync(source).isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
          throw new StatusError(1, `open ${source}: ${why}`);
        }
        body = fs.createReadStream(source);
        fromSrc = '-';
      }
      const res = await ctx.client().imageCreate({
        fromSrc,
        repo: reference || undefined,
        message: p.str('message') || undefined,
        platform: p.str('platform') ? p.str('platform').toLowerCase() : undefined,
        changes: p.list('change').length ? p.list('change') : undefined,
      }, body as import('stream').Readable | undefined);
      const { displayJsonMessages } = require('./progress') as typeof import('./progress');
      await displayJsonMessages(res, process.stdout);
      return 0;
    },
  };
}
