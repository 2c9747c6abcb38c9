// `cp` and `export` (also under `container`). cp follows docker v28's rules: CONTAINER:PATH on one side, a local
// path or "-" (a tar on stdin/stdout) on the other; the destination's stat decides where the archive is
// extracted and under which name its top entry goes (docker's PrepareArchiveCopy), a trailing "/." copies a
// directory's contents, a trailing "/" asserts a directory; "Successfully copied <size> to <dest>" goes to
// stderr when stdout is a terminal (the size is the tar's, as docker v28 counts it). The local side of the
// archives (writing a tar, extracting one confined to the destination) is cp-archive.ts, a bundle of its own.
import type { Readable } from 'stream';
import { CommandSpec, StatusError, flagDefs, BIN } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { copyTo, isTerminal } from '../stdio';
import type { ContainerPathStat } from '../../client';

// Go's os.FileMode bits the CLI looks at.
const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_IRREGULAR = 2 ** 19;
const has = (mode: number, bit: number) => Math.floor(mode / bit) % 2 === 1;

export function command(id: string): Cmd {
  const name = id.replace(/^container /, '');
  if (name === 'cp') return cpCommand(id);
  if (name === 'export') return exportCommand(id);
  throw new Error(`unknown command ${id}`);
}

// ------------------------------------------------------------------------------------------------ path rules

/** filepath.Clean for "/" paths. */
export function goClean(p: string): string {
  if (p === '') return '.';
  const n = require('path').posix.normalize(p) as string;
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** filepath.Base. */
export function goBase(p: string): string {
  const t = p.replace(/\/+$/, '');
  if (p === '') return '.';
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

/** filepath.Dir. */
export function goDir(p: string): string {
  const i = p.lastIndexOf('/');
  return goClean(i < 0 ? '' : p.slice(0, i + 1));
}

const specifiesCurrentDir = (p: string) => goBase(p) === '.';
const hasTrailingSep = (p: string) => p.endsWith('/');
export const assertsDirectory = (p: string) => hasTrailingSep(p) || specifiesCurrentDir(p);

/** archive.PreserveTrailingDotOrSeparator. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (!specifiesCurrentDir(out) && specifiesCurrentDir(original)) {
    if (!hasTrailingSep(out)) out += '/';
    out += '.';
  }
  if (!hasTrailingSep(out) && hasTrailingSep(original)) out += '/';
  return out;
}

/** archive.SplitPathDirEntry: [directory, entry], a trailing "." kept as the entry. */
export function splitPathDirEntry(p: string): [string, string] {
  let cleaned = goClean(p);
  if (specifiesCurrentDir(p)) cleaned += '/.';
  return [goDir(cleaned), goBase(cleaned)];
}

/** archive.GetRebaseName: the resolved path with the original's trailing "/." or "/", and the name the archive's
 * top entry must take when resolving changed the last element. */
export function getRebaseName(p: string, resolved: string): [string, string] {
  let r = resolved;
  if (specifiesCurrentDir(p) && !specifiesCurrentDir(r)) r += '/.';
  if (hasTrailingSep(p) && !hasTrailingSep(r)) r += '/';
  return [r, goBase(p) !== goBase(r) ? goBase(p) : ''];
}

/** docker's splitCpArg: CONTAINER:PATH, unless the argument is absolute or starts with "." (a local path with a
 * colon must be written ./file:name). */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const i = arg.indexOf(':');
  if (i < 0) return { container: '', path: arg };
  const ctr = arg.slice(0, i);
  if (ctr.startsWith('.')) return { container: '', path: arg };
  return { container: ctr, path: arg.slice(i + 1) };
}

export interface CopyInfo { path: string; exists: boolean; isDir: boolean; rebaseName: string }

/**
 * archive.PrepareArchiveCopy's decision: the directory to extract into and the name the archive's top entry
 * must have there (undefined: keep it). Throws docker's texts for the impossible cases.
 */
export function prepareArchiveCopy(src: CopyInfo, dst: CopyInfo): { dstDir: string; rename?: [string, string] } {
  const [dstDir, dstBase] = splitPathDirEntry(dst.path);
  const srcBase = src.rebaseName || splitPathDirEntry(src.path)[1];
  if (dst.exists && dst.isDir) return { dstDir: dst.path };
  if (dst.exists && src.isDir) throw new StatusError(1, 'cannot copy directory');
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path)) throw new StatusError(1, 'no such directory');
  return { dstDir, rename: [srcBase, dstBase] };
}

// ------------------------------------------------------------------------------------------------ local files

const fsm = () => require('fs') as typeof import('fs');
const nodePath = () => require('path') as typeof import('path');

function errnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'ENOTDIR': return 'not a directory';
    case 'EACCES': return 'permission denied';
    case 'ELOOP': return 'too many levels of symbolic links';
    default: return e.message;
  }
}

/** Go's os.PathError text. */
const pathErr = (op: string, p: string, e: unknown) => new StatusError(1, `${op} ${p}: ${errnoText(e as NodeJS.ErrnoException)}`);

/** filepath.EvalSymlinks: every symlink resolved, errors naming the element that failed. */
export function evalSymlinks(p: string): string {
  const fs = fsm();
  const parts = p.split('/');
  let cur = p.startsWith('/') ? '' : '.';
  let links = 0;
  while (parts.length > 0) {
    const c = parts.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') { cur = goDir(cur === '' ? '/' : cur); if (cur === '/') cur = ''; continue; }
    const next = `${cur}/${c}`;
    let st;
    try {
      st = fs.lstatSync(next);
    } catch (err) {
      throw pathErr('lstat', goClean(next), err);
    }
    if (st.isSymbolicLink()) {
      if (++links > 255) throw new StatusError(1, 'EvalSymlinks: too many links');
      const target = fs.readlinkSync(next);
      if (target.startsWith('/')) cur = '';
      parts.unshift(...target.split('/'));
      continue;
    }
    cur = next;
  }
  return goClean(cur === '' ? '/' : cur);
}

/** archive.CopyInfoSourcePath: parents' symlinks resolved (the last element's too with -L). */
export function copyInfoSourcePath(p: string, followLink: boolean): CopyInfo {
  let resolved: string;
  let rebase = '';
  if (followLink) {
    [resolved, rebase] = getRebaseName(p, evalSymlinks(p));
  } else {
    const i = p.lastIndexOf('/');
    const dir = p.slice(0, i + 1);
    const base = p.slice(i + 1);
    resolved = `${evalSymlinks(dir === '' ? '.' : dir)}/${base}`.replace(/^\/\//, '/');
    if (hasTrailingSep(p) && goBase(p) !== goBase(resolved)) rebase = goBase(p);
  }
  let st;
  try {
    st = fsm().lstatSync(resolved);
  } catch (err) {
    throw pathErr('lstat', resolved, err);
  }
  return { path: resolved, exists: true, isDir: st.isDirectory(), rebaseName: rebase };
}

/** archive.CopyInfoDestinationPath: a final symlink is followed (up to 10 times); a missing path needs its parent. */
export function copyInfoDestinationPath(p: string): CopyInfo {
  const fs = fsm();
  const original = p;
  let cur = p;
  let st = lstatOrError(cur);
  if (!(st instanceof Error) && !st.isSymbolicLink()) return { path: cur, exists: true, isDir: st.isDirectory(), rebaseName: '' };
  for (let n = 0; !(st instanceof Error) && st.isSymbolicLink(); n++) {
    if (n > 10) throw new StatusError(1, `too many symlinks in ${original}`);
    let target = fs.readlinkSync(cur);
    if (!target.startsWith('/')) target = nodePath().posix.join(splitPathDirEntry(cur)[0], target);
    cur = target;
    st = lstatOrError(cur);
  }
  if (st instanceof Error) {
    if ((st as NodeJS.ErrnoException).code !== 'ENOENT') throw pathErr('lstat', cur, st);
    const parent = splitPathDirEntry(cur)[0];
    let pst;
    try {
      pst = fs.statSync(parent);
    } catch (err) {
      throw pathErr('stat', parent, err);
    }
    if (!pst.isDirectory()) throw new StatusError(1, 'not a directory');
    return { path: cur, exists: false, isDir: false, rebaseName: '' };
  }
  return { path: cur, exists: true, isDir: st.isDirectory(), rebaseName: '' };
}

function lstatOrError(p: string): import('fs').Stats | Error {
  try {
    return fsm().lstatSync(p);
  } catch (err) {
    return err as Error;
  }
}

/** command.ValidateOutputPath: the parent must exist; an existing path must be a directory or a regular file. */
export function validateOutputPath(p: string): void {
  const fs = fsm();
  const dir = goDir(goClean(p));
  if (dir !== '' && dir !== '.' && !fs.existsSync(dir)) throw new StatusError(1, `invalid output path: directory ${JSON.stringify(dir)} does not exist`);
  let st;
  try {
    st = fs.statSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw pathErr('stat', p, err);
  }
  if (st.isDirectory() || st.isFile()) return;
  const why = st.isCharacterDevice() || st.isBlockDevice() ? 'got a device' : st.isFIFO() || st.isSocket() ? 'got an irregular file' : '';
  if (why) throw new StatusError(1, `invalid output path: ${JSON.stringify(p)} must be a directory or a regular file: ${why}`);
}

/** The local side of the archives (writing and extracting tars with storage's modules): a separate bundle,
 * dist/cli-archive.js, loaded only by cp, so every other command's start-up does not parse it. Beside the Node
 * bundle (__dirname), beside the Bun executable (its __dirname is inside the executable), or the tsc output. */
function archiveSide(): typeof import('./cp-archive') {
  const path = nodePath();
  const candidates = [path.join(__dirname, 'cli-archive.js'), path.join(path.dirname(process.execPath), 'cli-archive.js'), path.join(__dirname, 'cp-archive.js')];
  const found = candidates.find((f) => fsm().existsSync(f));
  if (!found) throw new StatusError(1, `cp's archive module not found (looked for ${candidates.join(', ')}); run npm run build`);
  return require(found) as typeof import('./cp-archive');
}

// ------------------------------------------------------------------------------------------------ cp

interface CpConfig { followLink: boolean; copyUIDGID: boolean; quiet: boolean; sourcePath: string; destPath: string; container: string }

function cpCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: `[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\t${BIN} cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
    short: 'Copy files/folders between a container and the local filesystem',
    long: `Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.`,
    aliases: `${BIN} container cp, ${BIN} cp`,
    args: { exact: 2 },
    flags: flagDefs([
      ['a', 'archive', 'bool', 'Archive mode (copy all uid/gid information)'],
      ['L', 'follow-link', 'bool', 'Always follow symbol link in SRC_PATH'],
      ['q', 'quiet', 'bool', 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached'],
    ]),
  };
  return {
    spec,
    async run(ctx, p) {
      const [source, destination] = p.args;
      if (source === '') throw new StatusError(1, 'source can not be empty');
      if (destination === '') throw new StatusError(1, 'destination can not be empty');
      const quiet = p.has('quiet') ? p.bool('quiet') : !isTerminal(1);
      const src = splitCpArg(source);
      const dst = splitCpArg(destination);
      const cfg: CpConfig = {
        followLink: p.bool('follow-link'), copyUIDGID: p.bool('archive'), quiet,
        sourcePath: src.path, destPath: dst.path, container: dst.container || src.container,
      };
      if (src.container && dst.container) throw new StatusError(1, 'copying between containers is not supported');
      if (src.container) return copyFromContainer(ctx, cfg);
      if (dst.container) return copyToContainer(ctx, cfg);
      throw new StatusError(1, 'must specify at least one container source');
    },
  };
}

const resolveLocalPath = (p: string) => preserveTrailingDotOrSeparator(nodePath().resolve(p), p);

function humanSize(n: number): string {
  const { humanSizeWithPrecision } = require('../format/units') as typeof import('../format/units');
  return humanSizeWithPrecision(n, 3);
}

async function copyFromContainer(ctx: Ctx, cfg: CpConfig): Promise<number> {
  let dstPath = cfg.destPath;
  let srcPath = cfg.sourcePath;
  if (dstPath !== '-') dstPath = resolveLocalPath(dstPath);
  validateOutputPath(dstPath);
  const client = ctx.client();
  let rebase = '';
  if (cfg.followLink) {
    // with -L a symlink's target is copied under the link's name
    const st = await client.containerStatPath(cfg.container, srcPath).catch(() => undefined);
    if (st && has(st.mode, MODE_SYMLINK)) {
      let target = st.linkTarget;
      if (!target.startsWith('/')) target = nodePath().posix.join(splitPathDirEntry(srcPath)[0], target);
      [srcPath, rebase] = getRebaseName(srcPath, target);
    }
  }
  const { stat, content } = await client.copyFromContainer(cfg.container, srcPath);
  if (dstPath === '-') {
    const { pipeline } = require('stream/promises') as typeof import('stream/promises');
    await copyTo(1, content);
    return 0;
  }
  const srcInfo: CopyInfo = { path: srcPath, exists: true, isDir: has(stat.mode, MODE_DIR), rebaseName: rebase };
  let copied = 0;
  let failure: unknown;
  try {
    const renames: Array<[string, string]> = [];
    if (rebase) renames.push([splitPathDirEntry(srcPath)[1], rebase]);
    const dstInfo = copyInfoDestinationPath(dstPath);
    const plan = prepareArchiveCopy(srcInfo, dstInfo);
    if (plan.rename) renames.push(plan.rename);
    await archiveSide().extractLocal((m) => ctx.err(m), content, plan.dstDir, renames.filter(([a, b]) => a !== b), (n) => { copied += n; });
  } catch (err) {
    failure = err;
    content.destroy();
  }
  if (!cfg.quiet) ctx.err(`Successfully copied ${humanSize(copied)} to ${dstPath}\n`);
  if (failure) throw failure;
  return 0;
}

async function copyToContainer(ctx: Ctx, cfg: CpConfig): Promise<number> {
  let srcPath = cfg.sourcePath;
  const dstPath = cfg.destPath;
  if (srcPath !== '-') srcPath = resolveLocalPath(srcPath);
  const client = ctx.client();
  // The destination's stat says where to extract; any error is ignored (the parent may exist), as docker does.
  const dstInfo: CopyInfo = { path: dstPath, exists: false, isDir: false, rebaseName: '' };
  let dst: ContainerPathStat | undefined = await client.containerStatPath(cfg.container, dstPath).catch(() => undefined);
  if (dst && has(dst.mode, MODE_SYMLINK)) {
    let target = dst.linkTarget;
    if (!target.startsWith('/')) target = nodePath().posix.join(splitPathDirEntry(dstPath)[0], target);
    dstInfo.path = target;
    dst = await client.containerStatPath(cfg.container, target).catch(() => undefined);
  }
  if (dst) {
    const why = has(dst.mode, MODE_DEVICE) ? 'got a device' : has(dst.mode, MODE_IRREGULAR) ? 'got an irregular file' : '';
    if (why) throw new StatusError(1, `destination "${cfg.container}:${dstPath}" must be a directory or a regular file: ${why}`);
    dstInfo.exists = true;
    dstInfo.isDir = has(dst.mode, MODE_DIR);
  }

  let content: Readable;
  let resolvedDst: string;
  let copied = 0;
  if (srcPath === '-') {
    if (!dstInfo.isDir) throw new StatusError(1, `destination "${cfg.container}:${dstPath}" must be a directory`);
    content = process.stdin;
    resolvedDst = dstInfo.path;
  } else {
    const srcInfo = copyInfoSourcePath(srcPath, cfg.followLink);
    const plan = prepareArchiveCopy(srcInfo, dstInfo);
    const top = plan.rename ? plan.rename[1] : srcInfo.rebaseName || splitPathDirEntry(srcInfo.path)[1];
    content = archiveSide().localTar(srcInfo.path, top, (n) => { copied += n; });
    resolvedDst = plan.dstDir;
  }
  let failure: unknown;
  try {
    await client.copyToContainer(cfg.container, resolvedDst, content, { copyUIDGID: cfg.copyUIDGID });
  } catch (err) {
    failure = err;
  }
  if (!cfg.quiet) ctx.err(`Successfully copied ${humanSize(copied)} to ${cfg.container}:${dstInfo.path}\n`);
  if (failure) throw failure;
  return 0;
}

// ------------------------------------------------------------------------------------------------ export

function exportCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] CONTAINER',
    short: "Export a container's filesystem as a tar archive",
    aliases: `${BIN} container export, ${BIN} export`,
    args: { exact: 1 },
    flags: flagDefs([['o', 'output', 'string', 'Write to a file, instead of STDOUT']]),
  };
  return {
    spec,
    async run(ctx, p) {
      const output = p.str('output');
      if (output === '' && isTerminal(1)) throw new StatusError(1, 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
      try {
        validateOutputPath(output);
      } catch (err) {
        throw new StatusError(1, `failed to export container: ${(err as Error).message}`);
      }
      const res = await ctx.client().containerExport(p.args[0]);
      const { pipeline } = require('stream/promises') as typeof import('stream/promises');
      if (output === '') {
        await copyTo(1, res);
        return 0;
      }
      // docker's CopyToFile: a temp file beside the target, renamed into place once complete
      const fs = fsm();
      const path = nodePath();
      const tmp = path.join(path.dirname(output), `.docker_temp_${process.pid}${Date.now() % 1e6}`);
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
