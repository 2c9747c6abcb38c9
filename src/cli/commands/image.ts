// Image commands: images / image ls, rmi / image rm, tag, import, save, load, history, image prune.
import { CommandSpec, StatusError, flagDefs, Parsed, BIN } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { copyTo, isTerminal, progressOut } from '../stdio';
import { ApiError } from '../../client';
import { imageFormat, imageHeaders, imageRows, writeFormatted, FormatError } from '../format/formatter';
import { confirm, filtersJson } from './util';
import { FORMAT_HELP } from './ps';
import { parseAnyReference, parseNormalizedNamed, ReferenceError } from './reference';

export function command(id: string): Cmd {
  switch (id) {
    case 'images': case 'image ls': return imagesCommand(id);
    case 'rmi': case 'image rm': return rmiCommand(id);
    case 'tag': case 'image tag': return tagCommand(id);
    case 'import': case 'image import': return importCommand(id);
    case 'save': case 'image save': return saveCommand(id);
    case 'load': case 'image load': return loadCommand(id);
    case 'history': case 'image history': return historyCommand(id);
    case 'image prune': return pruneCommand(id);
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
      await displayJsonMessages(res, progressOut(1));
      return 0;
    },
  };
}

const PLATFORM_HELP = (verb: string) => `${verb} only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")`;

function saveCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] IMAGE [IMAGE...]',
    short: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    aliases: `${BIN} image save, ${BIN} save`,
    args: { min: 1 },
    flags: flagDefs([
      ['o', 'output', 'string', 'Write to a file, instead of STDOUT'],
      ['', 'platform', 'string', PLATFORM_HELP('Save')],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const output = p.str('output');
      if (output === '' && isTerminal(1)) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      const fs: typeof import('fs') = require('fs');
      const path: typeof import('path') = require('path');
      if (output !== '') {
        try {
          const dir = path.dirname(path.normalize(output));
          if (dir !== '.' && dir !== '') fs.statSync(dir);
          const st = fs.statSync(output, { throwIfNoEntry: false });
          if (st && !st.isDirectory() && !st.isFile()) throw new Error(`invalid output path: ${JSON.stringify(output)} must be a directory or a regular file`);
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          const why = e.code ? `invalid output path: stat ${e.path ?? output}: ${errnoText(e)}` : e.message;
          throw new StatusError(1, `failed to save image: ${why}`);
        }
      }
      if (p.str('platform')) throw new StatusError(1, `"--platform" requires API version 1.48, but the berth daemon API version is ${require('../../client').API_VERSION}`);
      const res = await ctx.client().imageSave(p.args);
      const { pipeline } = require('stream/promises') as typeof import('stream/promises');
      if (output === '') {
        await copyTo(1, res);
        return 0;
      }
      // like docker's CopyToFile: a temp file beside the target, renamed into place when complete
      const tmp = path.join(path.dirname(output), `.berth_temp_${process.pid}_${Date.now()}`);
      try {
        await pipeline(res, fs.createWriteStream(tmp, { mode: 0o600, flags: 'wx' }));
        fs.renameSync(tmp, output);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || /aborted/.test(e.message)) throw new StatusError(1, 'unexpected EOF');
        throw err;
      }
      return 0;
    },
  };
}

function errnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': return 'permission denied';
    case 'ENOTDIR': return 'not a directory';
    case 'EISDIR': return 'is a directory';
    default: return e.message;
  }
}

function loadCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'Load an image from a tar archive or STDIN',
    aliases: `${BIN} image load, ${BIN} load`,
    args: 'none',
    flags: flagDefs([
      ['i', 'input', 'string', 'Read from tar archive file, instead of STDIN'],
      ['', 'platform', 'string', PLATFORM_HELP('Load')],
      ['q', 'quiet', 'bool', 'Suppress the load output'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const fs: typeof import('fs') = require('fs');
      const file = p.str('input');
      let input: import('stream').Readable;
      if (file !== '') {
        let fd: number;
        try {
          fd = fs.openSync(file, 'r');
        } catch (err) {
          throw new StatusError(1, `open ${file}: ${errnoText(err as NodeJS.ErrnoException)}`);
        }
        input = fs.createReadStream('', { fd, highWaterMark: 1 << 20 });
      } else {
        if (isTerminal(0)) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
        input = process.stdin;
      }
      if (p.str('platform')) throw new StatusError(1, `"--platform" requires API version 1.48, but the berth daemon API version is ${require('../../client').API_VERSION}`);
      const quiet = p.bool('quiet') || !isTerminal(1);
      const res = await ctx.client().imageLoad(input, quiet);
      if (String(res.headers['content-type'] ?? '').startsWith('application/json')) {
        const { displayJsonMessages } = require('./progress') as typeof import('./progress');
        try {
          await displayJsonMessages(res, progressOut(1));
        } catch (err) {
          throw new StatusError(1, (err as Error).message);
        }
        return 0;
      }
      const { pipeline } = require('stream/promises') as typeof import('stream/promises');
      await copyTo(1, res);
      return 0;
    },
  };
}

function historyCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] IMAGE',
    short: 'Show the history of an image',
    aliases: `${BIN} image history, ${BIN} history`,
    args: { exact: 1 },
    flags: flagDefs([
      ['', 'format', 'string', FORMAT_HELP],
      ['H', 'human', 'bool', 'Print sizes and dates in human readable format', 'true'],
      ['', 'no-trunc', 'bool', "Don't truncate output"],
      ['', 'platform', 'string', 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")'],
      ['q', 'quiet', 'bool', 'Only show image IDs'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      if (p.str('platform')) throw new StatusError(1, `"--platform" requires API version 1.48, but the berth daemon API version is ${require('../../client').API_VERSION}`);
      const history = await ctx.client().imageHistory(p.args[0]);
      const { HistoryContext, historyFormat, historyHeaders } = require('../format/history') as typeof import('../format/history');
      const human = p.bool('human', true);
      const trunc = !p.bool('no-trunc');
      const format = historyFormat(p.str('format') || 'table', p.bool('quiet'), human);
      const now = Date.now();
      const rows = (history ?? []).map((h) => new HistoryContext(h, trunc, human, now));
      try {
        ctx.out(writeFormatted(format, rows, historyHeaders));
      } catch (err) {
        if (err instanceof FormatError) throw new StatusError(1, err.message);
        throw err;
      }
      return 0;
    },
  };
}

function pruneCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS]',
    short: 'Remove unused images',
    args: 'none',
    flags: flagDefs([
      ['a', 'all', 'bool', 'Remove all unused images, not just dangling ones'],
      ['', 'filter', 'filter', 'Provide filter values (e.g. "until=<timestamp>")'],
      ['f', 'force', 'bool', 'Do not prompt for confirmation'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const all = p.bool('all');
      const warning = all
        ? 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?'
        : 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?';
      if (!p.bool('force') && !(await confirm(ctx, warning))) return 0;
      const { pruneImages } = require('./prune') as typeof import('./prune');
      const { text, space } = await pruneImages(ctx, p.list('filter'), all);
      const { humanSize } = require('../format/units') as typeof import('../format/units');
      ctx.out(`${text}Total reclaimed space: ${humanSize(space)}\n`);
      return 0;
    },
  };
}
