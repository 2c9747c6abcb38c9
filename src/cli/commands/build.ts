// `build` / `image build` (the classic builder's client side) and `builder prune`. The context directory is sent
// as a tar stream, filtered by .dockerignore as the docker CLI does (the Dockerfile and .dockerignore always go,
// so the daemon can read them); output is the daemon's stream text, as docker's legacy builder prints it.
import { promises as fs } from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { CommandSpec, StatusError, flagDefs, Parsed, BIN } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { confirm } from './util';

export function command(id: string): Cmd {
  switch (id) {
    case 'build': case 'image build': case 'builder build': return buildCommand(id);
    case 'builder prune': return pruneCommand(id);
  }
  throw new Error(`unknown command ${id}`);
}

function buildCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] PATH | URL | -',
    short: 'Build an image from a Dockerfile',
    aliases: `${BIN} image build, ${BIN} build, ${BIN} builder build`,
    args: { exact: 1 },
    flags: flagDefs([
      ['f', 'file', 'string', "Name of the Dockerfile (Default is 'PATH/Dockerfile')"],
      ['t', 'tag', 'list', 'Name and optionally a tag in the "name:tag" format'],
      ['', 'build-arg', 'list', 'Set build-time variables'],
      ['', 'label', 'list', 'Set metadata for an image'],
      ['', 'target', 'string', 'Set the target build stage to build.'],
      ['', 'no-cache', 'bool', 'Do not use cache when building the image'],
      ['', 'pull', 'bool', 'Always attempt to pull a newer version of the image'],
      ['q', 'quiet', 'bool', 'Suppress the build output and print image ID on success'],
      ['', 'iidfile', 'string', 'Write the image ID to the file'],
      ['', 'rm', 'bool', 'Remove intermediate containers after a successful build', 'true'],
      ['', 'force-rm', 'bool', 'Always remove intermediate containers'],
      ['', 'network', 'string', 'Set the networking mode for the RUN instructions during build'],
      ['', 'platform', 'string', 'Set platform if server is multi-platform capable'],
    ]),
  };
  return { spec, run: runBuild };
}

async function runBuild(ctx: Ctx, p: Parsed): Promise<number> {
  const where = p.args[0];
  const dockerfileFlag = p.str('file');
  const buildArgs: Record<string, string | null> = {};
  for (const a of p.list('build-arg')) {
    const i = a.indexOf('=');
    if (i >= 0) buildArgs[a.slice(0, i)] = a.slice(i + 1);
    else buildArgs[a] = process.env[a] ?? null;
  }
  const labels: Record<string, string> = {};
  for (const l of p.list('label')) {
    const i = l.indexOf('=');
    labels[i >= 0 ? l.slice(0, i) : l] = i >= 0 ? l.slice(i + 1) : '';
  }
  let body: Readable;
  let dockerfile = 'Dockerfile';
  if (where === '-') {
    body = await stdinContext();
  } else {
    const st = await fs.stat(where).catch(() => undefined);
    if (!st?.isDirectory()) throw new StatusError(1, `unable to prepare context: path "${where}" not found`);
    if (dockerfileFlag) {
      const abs = path.resolve(dockerfileFlag);
      const rel = path.relative(path.resolve(where), abs);
      if (rel.startsWith('..') || path.isAbsolute(rel)) throw new StatusError(1, 'unable to prepare context: the Dockerfile must be inside the build context for berth');
      dockerfile = rel.split(path.sep).join('/');
    }
    if (!(await fs.stat(path.join(where, dockerfile)).catch(() => undefined))) {
      throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${path.resolve(where, dockerfile)}: no such file or directory`);
    }
    body = await packContext(where, dockerfile);
  }
  const quiet = p.bool('quiet');
  const q: Record<string, string | string[] | undefined> = {
    t: p.list('tag').length ? p.list('tag') : undefined,
    dockerfile,
    buildargs: JSON.stringify(buildArgs),
    labels: JSON.stringify(labels),
    target: p.str('target') || undefined,
    nocache: p.bool('no-cache') ? '1' : undefined,
    pull: p.bool('pull') ? '1' : undefined,
    q: quiet ? '1' : undefined,
    rm: p.bool('rm') ? '1' : '0',
    forcerm: p.bool('force-rm') ? '1' : undefined,
    networkmode: p.str('network') || undefined,
    platform: p.str('platform') || undefined,
  };
  if (!quiet) ctx.err('DEPRECATED: The legacy builder is deprecated and will be removed in a future release.\n            BuildKit is currently disabled; berth builds with the classic builder.\n\n');
  const res = await ctx.client().request('POST', '/build', { query: q, body, contentType: 'application/x-tar' } as never);
  if ((res.statusCode ?? 500) >= 400) {
    let text = '';
    for await (const c of res) text += c;
    let message = text.trim();
    try { message = (JSON.parse(text) as { message: string }).message; } catch { /* plain text */ }
    throw new StatusError(1, `Error response from daemon: ${message}`);
  }
  const { readJsonStream } = require('../../client/jsonstream') as typeof import('../../client/jsonstream');
  let imageId = '';
  let failure: { message: string; code: number } | undefined;
  await readJsonStream(res, (v) => {
    const m = v as { stream?: string; status?: string; id?: string; aux?: { ID?: string }; error?: string; errorDetail?: { message?: string; code?: number } };
    if (failure) return;
    if (m.aux?.ID) { imageId = m.aux.ID; return; }
    if (m.errorDetail || m.error) {
      failure = { message: m.errorDetail?.message ?? m.error ?? '', code: m.errorDetail?.code || 1 };
      return;
    }
    if (quiet) return;
    if (m.stream !== undefined) ctx.out(m.stream);
    else if (m.status !== undefined) ctx.out(`${m.id ? `${m.id}: ` : ''}${m.status}\n`);
  });
  if (failure) throw new StatusError(failure.code, failure.message);
  if (quiet && imageId) ctx.out(`${imageId}\n`);
  const iidfile = p.str('iidfile');
  if (iidfile && imageId) await fs.writeFile(iidfile, imageId);
  return 0;
}

/** `build -`: a tar (plain or compressed) is the context; anything else is a Dockerfile with an empty context. */
async function stdinContext(): Promise<Readable> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const data = Buffer.concat(chunks);
  const { Readable: R } = require('stream') as typeof import('stream');
  const compressed = (data[0] === 0x1f && data[1] === 0x8b) || data.subarray(0, 3).toString('latin1') === 'BZh'
    || data.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (compressed || data.subarray(257, 262).toString('latin1') === 'ustar') return R.from([data]);
  const tar = require('tar-stream') as typeof import('tar-stream');
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile', size: data.length, mode: 0o644 }, data);
  pack.finalize();
  return pack as unknown as Readable;
}

/** The context directory as a tar stream, without what .dockerignore excludes. */
async function packContext(dir: string, dockerfile: string): Promise<Readable> {
  const { DockerIgnore, parseDockerignore, trimBuildFilesFromExcludes } = require('../../build/dockerignore') as typeof import('../../build/dockerignore');
  const ignoreText = await fs.readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const ignore = new DockerIgnore(trimBuildFilesFromExcludes(parseDockerignore(ignoreText), dockerfile));
  const tar = require('tar-stream') as typeof import('tar-stream');
  const pack = tar.pack();
  const walk = async (rel: string, parent?: readonly boolean[]): Promise<void> => {
    const names = (await fs.readdir(rel ? path.join(dir, rel) : dir)).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const m = ignore.matchesInWalk(r, parent);
      const host = path.join(dir, r);
      const st = await fs.lstat(host);
      if (m.excluded && (!st.isDirectory() || ignore.canSkipDir(r))) continue;
      const common = { name: r, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) {
        if (!m.excluded) await entry(pack, { ...common, type: 'directory' });
        await walk(r, m.info);
      } else if (st.isSymbolicLink()) {
        if (!m.excluded) await entry(pack, { ...common, type: 'symlink', linkname: await fs.readlink(host) });
      } else if (st.isFile() && !m.excluded) {
        await fileEntry(pack, { ...common, type: 'file', size: st.size }, host);
      }
    }
  };
  walk('', undefined).then(() => pack.finalize(), (err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

function entry(pack: import('tar-stream').Pack, header: Parameters<import('tar-stream').Pack['entry']>[0]): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}

async function fileEntry(pack: import('tar-stream').Pack, header: Parameters<import('tar-stream').Pack['entry']>[0], host: string): Promise<void> {
  const { createReadStream } = require('fs') as typeof import('fs');
  const { pipeline } = require('stream/promises') as typeof import('stream/promises');
  const done = new Promise<void>((resolve, reject) => {
    const w = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    pipeline(createReadStream(host), w).catch(reject);
  });
  await done;
}

function pruneCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '',
    short: 'Remove build cache',
    args: { max: 0 },
    flags: flagDefs([
      ['a', 'all', 'bool', 'Remove all unused build cache, not just dangling ones'],
      ['f', 'force', 'bool', 'Do not prompt for confirmation'],
      ['', 'filter', 'filter', "Provide filter values (e.g. 'until=24h')"],
    ]),
  };
  return {
    spec,
    run: async (ctx, p) => {
      if (!p.bool('force')) {
        const msg = p.bool('all')
          ? 'WARNING! This will remove all build cache. Are you sure you want to continue?'
          : 'WARNING! This will remove all dangling build cache. Are you sure you want to continue?';
        if (!(await confirm(ctx, msg))) return 0;
      }
      const res = await ctx.client().request('POST', '/build/prune', { query: { all: p.bool('all') ? '1' : undefined } } as never);
      let text = '';
      for await (const c of res) text += c;
      const report = JSON.parse(text) as { CachesDeleted: string[] | null; SpaceReclaimed: number };
      if (report.CachesDeleted?.length) {
        ctx.out('Deleted build cache objects:\n');
        for (const c of report.CachesDeleted) ctx.out(`${c.replace(/^sha256:/, '').slice(0, 25)}\n`);
      }
      ctx.out(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
      return 0;
    },
  };
}

function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : Number(v.toPrecision(3))}${units[i]}`;
}
