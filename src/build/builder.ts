// The classic builder (what `DOCKER_BUILDKIT=0 docker build` talks to): runs a parsed Dockerfile step by step,
// each step making one image from the previous one, and says what it does as docker's legacy builder does
// ("Step 2/6 : RUN …", " ---> Running in …", " ---> Using cache", " ---> 1b2c3d4e5f6a").
//  - metadata instructions (ENV, LABEL, CMD, …) make an image with the changed config and an empty layer;
//  - RUN runs a real container through the engine (create/attach/start/wait), commits its upper dir, removes it;
//  - COPY/ADD/WORKDIR mount an overlay of the current image with a fresh upper dir, write into it, and make
//    the upper dir the new layer (so existing directories keep their owner and mode, and `dest` being a
//    directory in the image is seen exactly as a container would see it).
// Every step's result is an untagged image with its parent recorded; cache.ts maps step keys to them.
// The engine is passed in (BuildHost), so build/ does not import engine/.
import { createHash } from 'crypto';
import { constants as C, promises as fs } from 'fs';
import * as path from 'path';
import { Duplex, Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { EngineError, errorMessage, invalidParameter } from '../common/errors';
import { log } from '../common/log';
import type { Env } from '../common/shell-words';
import { mountOverlay, unmountOverlay, RootfsPaths } from '../runtime/rootfs';
import {
  commitConfigBytes, ImageRecord, ImageStore, layerTar, parseReference, Reference, StagedLayer,
} from '../storage';
import { BuildArgs, StageArgs } from './args';
import { BuildCache, cacheKey } from './cache';
import { checksumSources, CopySource, expandSources, extractContext, readContextDockerfile } from './context';
import {
  AddInstruction, CopyInstruction, Dockerfile, findStage, Instruction, parseDockerfile,
  parseTriggers, runCommandLine, Stage,
} from './dockerfile';
import { DockerIgnore, parseDockerignore } from './dockerignore';
import { expandFrom, expandInstruction } from './expand';
import { removeIgnored } from './context';
import { failpoint } from '../common/failpoint';

type Obj = Record<string, unknown>;

/** What the builder needs from the engine. */
export interface BuildHost {
  images: ImageStore;
  cache: BuildCache;
  /** A private scratch directory for this build (removed by the caller). */
  tmpDir: string;
  create(body: unknown): Promise<{ Id: string }>;
  attach(id: string, client: Duplex, q: { stdin: boolean; stdout: boolean; stderr: boolean }): Promise<void>;
  start(id: string): Promise<void>;
  wait(id: string, condition?: string): Promise<{ StatusCode: number }>;
  /** Commits the container's changes with `config` as the new image's config, verbatim. */
  commitForBuild(id: string, config: Obj, createdBy: string): Promise<ImageRecord>;
  remove(id: string): Promise<void>;
  /** Pulls `ref` into the store, reporting progress through the output. */
  pull(ref: Reference, platform?: string): Promise<void>;
}

export interface BuildOptions {
  dockerfile?: string;
  tags?: string[];
  buildArgs?: Record<string, string | null>;
  labels?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  /** Remove intermediate containers after a successful step (default true). */
  rm?: boolean;
  /** Remove them after a failed one too. */
  forceRm?: boolean;
  networkMode?: string;
  platform?: string;
  /** cachefrom: when given, a cached step counts only if it is one of these images or an ancestor (as dockerd) */
  cacheFrom?: string[];
  /** extrahosts: "host:ip" lines for the RUN containers' /etc/hosts (--add-host) */
  extraHosts?: string[];
  /** aborted when the client goes away: the build stops at once, its RUN container killed and removed */
  signal?: AbortSignal;
}

export interface BuildOutput {
  /** Text for {"stream": …}. */
  stream(text: string): void;
  aux(value: unknown): void;
}

/** A step failed in a way docker reports with an exit code (errorDetail.code). */
export class BuildStepError extends EngineError {
  constructor(message: string, readonly code: number) {
    super(400, message);
  }
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const nop = (text: string) => `/bin/sh -c #(nop) ${text}`;

/** The tags a build will set, checked before anything runs (docker answers 400 up front). */
export function parseBuildTags(tags: readonly string[]): Reference[] {
  return tags.map((t) => {
    const ref = parseReference(t);
    if (ref.digest !== undefined) throw invalidParameter(`invalid reference format: ${t}`);
    return { domain: ref.domain, path: ref.path, tag: ref.tag ?? 'latest' };
  });
}

/** Extracts the context tar into `dir`, drops what .dockerignore excludes, and reads the Dockerfile. */
export async function prepareContext(input: AsyncIterable<Uint8Array>, dir: string, dockerfile: string): Promise<{ text: string }> {
  await extractContext(input, dir);
  const text = await readContextDockerfile(dir, dockerfile);
  // The CLI already filtered the context; filtering again covers other API clients (and is cheap when empty).
  // The Dockerfile and .dockerignore go too when .dockerignore names them, as dockerd removes them once read:
  // that is how a Dockerfile from outside the context (sent as `.dockerfile.<random>`, which the docker CLI and
  // docker-py add to .dockerignore) stays out of the image.
  const ignoreText = await fs.readFile(`${dir}/.dockerignore`, 'utf8').catch(() => undefined);
  if (ignoreText !== undefined) {
    const ignore = new DockerIgnore(parseDockerignore(ignoreText));
    await removeIgnored(dir, ignore);
  }
  return { text };
}

interface StageState {
  image?: ImageRecord;
  config: Obj;
  author?: string;
  cmdSet: boolean;
  args: StageArgs;
}

export class Builder {
  private step = 0;
  private total = 0;
  private readonly results = new Map<number, ImageRecord | undefined>();
  private readonly df: Dockerfile;
  private readonly buildArgs: BuildArgs;

  constructor(
    private readonly host: BuildHost,
    private readonly contextDir: string,
    dockerfileText: string,
    private readonly opts: BuildOptions,
    private readonly out: BuildOutput,
  ) {
    this.df = parseDockerfile(dockerfileText, { file: opts.dockerfile ?? 'Dockerfile' });
    this.buildArgs = new BuildArgs({ buildArgs: opts.buildArgs ?? {}, escape: this.df.escape, file: this.df.file });
  }

  /** Runs the build; returns the final image (tagged with every tag). */
  async build(): Promise<ImageRecord> {
    const tags = parseBuildTags(this.opts.tags ?? []);
    let last = this.df.stages.length - 1;
    if (this.opts.target) {
      const t = findStage(this.df, this.opts.target.toLowerCase());
      if (!t || t.name === undefined) throw invalidParameter(`failed to reach build target ${this.opts.target} in Dockerfile`);
      last = t.index;
    }
    const stages = this.df.stages.slice(0, last + 1);
    const labels = Object.entries(this.opts.labels ?? {});
    let labelIns: Instruction | undefined;
    if (labels.length) {
      // --label works as one more LABEL at the end of the target stage, as in docker's classic builder
      const line = `LABEL ${labels.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}`;
      labelIns = parseDockerfile(`FROM scratch\n${line}\n`).stages[0].instructions[0];
    }
    this.total = stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + (labelIns ? 1 : 0);
    this.buildArgs.processGlobal(this.df.globalArgs);
    let final: ImageRecord | undefined;
    for (const stage of stages) {
      const extra = stage.index === last && labelIns ? [labelIns] : [];
      final = await this.runStage(stage, extra);
      this.results.set(stage.index, final);
    }
    if (!final) throw invalidParameter('No image was generated. Is your Dockerfile empty?');
    const warning = this.buildArgs.unconsumedWarning();
    if (warning) this.out.stream(`${warning}\n`);
    this.out.aux({ ID: final.id });
    this.out.stream(`Successfully built ${short(final.id)}\n`);
    for (const t of tags) {
      const name = `${t.domain === 'docker.io' ? t.path.replace(/^library\//, '') : `${t.domain}/${t.path}`}:${t.tag}`;
      await this.host.images.tag(final.id, name);
      this.out.stream(`Successfully tagged ${name}\n`);
    }
    return final;
  }

  private checkAborted(): void {
    if (this.opts.signal?.aborted) throw new EngineError(499, 'build canceled: the client went away');
  }

  private stepLine(text: string): void {
    this.checkAborted();
    this.step++;
    this.out.stream(`Step ${this.step}/${this.total} : ${text}\n`);
  }

  private async runStage(stage: Stage, extra: Instruction[]): Promise<ImageRecord | undefined> {
    this.stepLine(stage.original);
    const from = expandFrom(stage, this.buildArgs.global, { escape: this.df.escape, file: this.df.file });
    const st: StageState = { config: {}, cmdSet: false, args: this.buildArgs.stage() };
    if (from.image.toLowerCase() !== 'scratch') {
      st.image = await this.baseImage(from.image, stage);
      st.config = structuredClone((st.image.config.config ?? {}) as Obj);
      this.out.stream(` ---> ${short(st.image.id)}\n`);
    } else if (stage.instructions.length === 0 && extra.length === 0) {
      throw invalidParameter('No image was generated. Is your Dockerfile empty?');
    }
    const triggers = (st.config.OnBuild as string[] | undefined) ?? [];
    if (triggers.length) {
      // triggers run once, in the first build that uses the image; the new image does not inherit them
      st.config.OnBuild = null;
      this.out.stream(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      for (const ins of parseTriggers(triggers, this.df.file)) await this.dispatch(st, ins, true);
    }
    for (const ins of [...stage.instructions, ...extra]) {
      this.stepLine(ins.original);
      await this.dispatch(st, ins, false);
    }
    return st.image;
  }

  private async baseImage(name: string, stage: Stage): Promise<ImageRecord> {
    const prev = findStage(this.df, name.toLowerCase(), stage.index);
    if (prev && (prev.name !== undefined || /^\d+$/.test(name))) {
      const img = this.results.get(prev.index);
      if (!img) throw invalidParameter(`stage ${name} produced no image (FROM scratch with no instructions)`);
      return img;
    }
    const ref = parseReference(name);
    const local = this.host.images.tryGet(name);
    if (local && !this.opts.pull) return local;
    await this.host.pull(ref, this.opts.platform);
    return this.host.images.get(name);
  }

  // ------------------------------------------------------------------------------------------------------------
  // one instruction

  private async dispatch(st: StageState, raw: Instruction, trigger: boolean): Promise<void> {
    if (raw.kind === 'ARG') {
      const decl = st.args.declare(raw, (st.config.Env as string[] | undefined) ?? []);
      const text = decl.map((d) => (d.value === undefined ? d.key : `${d.key}=${d.value}`)).join(' ');
      await this.metaStep(st, `ARG ${text}`, () => undefined);
      return;
    }
    const env: Env = st.args.expansionEnv((st.config.Env as string[] | undefined) ?? []);
    const ins = expandInstruction(raw, env, { escape: this.df.escape, file: this.df.file });
    const c = st.config;
    switch (ins.kind) {
      case 'ENV': {
        const text = ins.pairs.map((p) => `${p.key}=${p.value}`).join(' ');
        return this.metaStep(st, `ENV ${text}`, () => {
          let list = (c.Env as string[] | undefined) ?? [];
          for (const p of ins.pairs) list = [...list.filter((e) => e.split('=', 1)[0] !== p.key), `${p.key}=${p.value}`];
          c.Env = list;
        });
      }
      case 'LABEL': {
        const text = ins.pairs.map((p) => `${p.key}=${p.value}`).join(' ');
        return this.metaStep(st, `LABEL ${text}`, () => {
          const labels = { ...((c.Labels as Obj | null | undefined) ?? {}) };
          for (const p of ins.pairs) labels[p.key] = p.value;
          c.Labels = labels;
        });
      }
      case 'MAINTAINER':
        return this.metaStep(st, `MAINTAINER ${ins.maintainer}`, () => { st.author = ins.maintainer; });
      case 'EXPOSE':
        return this.metaStep(st, `EXPOSE ${ins.ports.join(' ')}`, () => {
          const ports = { ...((c.ExposedPorts as Obj | null | undefined) ?? {}) };
          for (const p of ins.ports) {
            const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
            if (!m) throw invalidParameter(`Invalid containerPort: ${p}`);
            const proto = (m[3] ?? 'tcp').toLowerCase();
            const hi = Number(m[2] ?? m[1]);
            for (let n = Number(m[1]); n <= hi; n++) ports[`${n}/${proto}`] = {};
          }
          c.ExposedPorts = ports;
        });
      case 'USER':
        return this.metaStep(st, `USER ${ins.user}`, () => { c.User = ins.user; });
      case 'STOPSIGNAL':
        return this.metaStep(st, `STOPSIGNAL ${ins.signal}`, () => { c.StopSignal = ins.signal; });
      case 'VOLUME':
        return this.metaStep(st, `VOLUME [${ins.volumes.join(' ')}]`, () => {
          const vols = { ...((c.Volumes as Obj | null | undefined) ?? {}) };
          for (const v of ins.volumes) {
            if (v.trim() === '') throw invalidParameter('VOLUME specified can not be an empty string');
            vols[v] = {};
          }
          c.Volumes = vols;
        });
      case 'SHELL':
        return this.metaStep(st, `SHELL [${ins.shell.map((s) => JSON.stringify(s)).join(' ')}]`, () => { c.Shell = ins.shell; });
      case 'HEALTHCHECK':
        return this.metaStep(st, `HEALTHCHECK ${JSON.stringify(ins.health)}`, () => { c.Healthcheck = ins.health; });
      case 'ONBUILD':
        return this.metaStep(st, `ONBUILD ${ins.expression}`, () => {
          c.OnBuild = [...((c.OnBuild as string[] | null | undefined) ?? []), ins.expression];
        });
      case 'CMD': {
        const cmd = ins.json ? ins.args : [...this.shell(st), ...ins.args];
        return this.metaStep(st, `CMD [${cmd.map((s) => JSON.stringify(s)).join(' ')}]`, () => {
          c.Cmd = cmd;
          st.cmdSet = true;
        });
      }
      case 'ENTRYPOINT': {
        const ep = ins.json ? ins.args : [...this.shell(st), ...ins.args];
        return this.metaStep(st, `ENTRYPOINT [${ep.map((s) => JSON.stringify(s)).join(' ')}]`, () => {
          c.Entrypoint = ep;
          // an ENTRYPOINT drops the base image's CMD unless this stage set one
          if (!st.cmdSet) c.Cmd = null;
        });
      }
      case 'WORKDIR': {
        const cur = (c.WorkingDir as string | undefined) || '/';
        const dir = path.posix.resolve(cur, ins.path);
        return this.fsStep(st, `WORKDIR ${dir}`, [], () => { c.WorkingDir = dir; }, async (root) => {
          await mkdirInRoot(root, dir, st);
        });
      }
      case 'RUN':
        return this.runStep(st, ins);
      case 'COPY':
      case 'ADD':
        return this.copyStep(st, ins);
      default:
        throw invalidParameter(`unsupported instruction ${(ins as Instruction).kind}`);
    }
  }

  private shell(st: StageState): string[] {
    const s = st.config.Shell as string[] | undefined;
    return s && s.length ? s : DEFAULT_SHELL;
  }

  /** A cached image for `key`, announced as docker does; undefined on a miss or with --no-cache. */
  /** With cachefrom, the images a cache hit may be: the named ones (unknown names skipped) and their ancestors. */
  private cacheSources?: Set<string>;

  private allowedCacheHit(id: string): boolean {
    if (!this.opts.cacheFrom?.length) return true;
    if (!this.cacheSources) {
      this.cacheSources = new Set();
      for (const ref of this.opts.cacheFrom) {
        for (let img = this.host.images.tryGet(ref); img && !this.cacheSources.has(img.id); img = img.parent ? this.host.images.tryGet(img.parent) : undefined) {
          this.cacheSources.add(img.id);
        }
      }
    }
    return this.cacheSources.has(id);
  }

  private cached(key: string): ImageRecord | undefined {
    if (this.opts.noCache) return undefined;
    const id = this.host.cache.lookup(key, (i) => this.host.images.tryGet(i) !== undefined && this.allowedCacheHit(i));
    if (!id) return undefined;
    this.out.stream(' ---> Using cache\n');
    return this.host.images.get(id);
  }

  private async finish(st: StageState, key: string, img: ImageRecord, description: string): Promise<void> {
    await this.host.cache.put(key, img.id, st.image?.id ?? '', description);
    st.image = img;
    st.config = structuredClone((img.config.config ?? {}) as Obj);
    this.out.stream(` ---> ${short(img.id)}\n`);
  }

  private adopt(st: StageState, img: ImageRecord): void {
    st.image = img;
    st.config = structuredClone((img.config.config ?? {}) as Obj);
    if (img.config.author) st.author = img.config.author as string;
    this.out.stream(` ---> ${short(img.id)}\n`);
  }

  /** A config-only step: `apply` changes st.config; the image gets an empty layer. */
  private async metaStep(st: StageState, text: string, apply: () => void): Promise<void> {
    const createdBy = nop(` ${text}`);
    const key = cacheKey(st.image?.id ?? 'scratch', createdBy, [JSON.stringify(st.config), st.author ?? '']);
    apply();
    const hit = this.cached(key);
    if (hit) return this.adopt(st, hit);
    const img = await this.commit(st, undefined, createdBy);
    await this.finish(st, key, img, text);
  }

  private async commit(st: StageState, staged: StagedLayer | undefined, createdBy: string): Promise<ImageRecord> {
    const base = st.image;
    const bytes = commitConfigBytes({
      parent: base?.config, parentDiffIds: base?.diffIds ?? [], diffId: staged?.diffId, config: st.config,
      containerConfig: { ...st.config, Cmd: ['/bin/sh', '-c', createdBy.replace(/^\/bin\/sh -c /, '')] },
      containerId: '', createdBy, author: st.author, created: new Date().toISOString(),
    });
    return this.host.images.commitImage(bytes, staged ? [staged] : [], { parent: base?.id });
  }

  // ------------------------------------------------------------------------------------------------------------
  // RUN

  private async runStep(st: StageState, ins: Extract<Instruction, { kind: 'RUN' }>): Promise<void> {
    if (!st.image) throw invalidParameter('RUN needs a base image: FROM scratch has no shell');
    const line = runCommandLine(ins);
    if (line.script) throw invalidParameter('RUN with a #! heredoc script is not supported by the classic builder');
    const cmd = line.prependShell ? [...this.shell(st), ...line.args] : line.args;
    const env = st.args.runEnv((st.config.Env as string[] | undefined) ?? []);
    // build args used by the step are part of its identity (as docker's `|1 A=b` prefix)
    const argPairs = [...st.args.values].map(([k, v]) => `${k}=${v}`);
    const createdBy = argPairs.length ? `|${argPairs.length} ${argPairs.join(' ')} ${cmd.join(' ')}` : cmd.join(' ');
    const key = cacheKey(st.image.id, `RUN ${JSON.stringify(cmd)}`, argPairs);
    const hit = this.cached(key);
    if (hit) return this.adopt(st, hit);

    const { Id: id } = await this.host.create({
      Image: st.image.id, Cmd: cmd, Entrypoint: [], Env: env, WorkingDir: st.config.WorkingDir ?? '',
      User: st.config.User ?? '', AttachStdout: true, AttachStderr: true, Tty: false, OpenStdin: false,
      Labels: {}, HostConfig: { NetworkMode: this.opts.networkMode || 'default', ...(this.opts.extraHosts?.length ? { ExtraHosts: this.opts.extraHosts } : {}) },
    });
    this.out.stream(` ---> Running in ${short(id)}\n`);
    let failed = true;
    let made: ImageRecord | undefined;
    // the client went away: kill and remove the step's container now (its wait below then returns)
    const onAbort = () => { void this.host.remove(id).catch(() => undefined); };
    this.opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.checkAborted();
      const sink = new OutputSink((text) => this.out.stream(text));
      const attached = this.host.attach(id, sink, { stdin: false, stdout: true, stderr: true });
      await this.host.start(id);
      const { StatusCode } = await this.host.wait(id, 'not-running');
      // the shim closes the attach connection when the process is gone; wait for the last output a moment
      await Promise.race([attached, new Promise((r) => setTimeout(r, 2000))]);
      sink.flush();
      this.checkAborted();
      if (StatusCode !== 0) {
        throw new BuildStepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${StatusCode}`, StatusCode);
      }
      made = await this.host.commitForBuild(id, { ...st.config }, createdBy);
      await failpoint('build.after-step');
      failed = false;
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort);
      if (this.opts.signal?.aborted) await this.host.remove(id).catch(() => undefined);
      else if (!failed ? this.opts.rm !== false : this.opts.forceRm) {
        await this.host.remove(id).catch((e) => log.warn('removing build container failed', { id, error: errorMessage(e) }));
        if (!failed) this.out.stream(` ---> Removed intermediate container ${short(id)}\n`);
      }
    }
    // docker says the container is gone before it names the new image
    if (made) await this.finish(st, key, made, `RUN ${cmd.join(' ')}`);
  }

  // ------------------------------------------------------------------------------------------------------------
  // COPY / ADD / WORKDIR: write into an overlay of the current image

  /**
   * A step that writes files: `apply` changes the config; `write` writes below the mounted root (the image's
   * view with a fresh upper dir). An upper dir left empty adds no layer.
   */
  private async fsStep(st: StageState, text: string, keyExtra: string[], apply: () => void, write: (root: string) => Promise<void>): Promise<void> {
    // docker writes file steps with one space after #(nop), config steps with two
    const createdBy = nop(text);
    const key = cacheKey(st.image?.id ?? 'scratch', createdBy, [...keyExtra, JSON.stringify(st.config)]);
    apply();
    const hit = this.cached(key);
    if (hit) return this.adopt(st, hit);
    const staged = await this.withOverlay(st.image, async (root) => write(root));
    const img = await this.commit(st, staged, createdBy);
    await this.finish(st, key, img, text);
  }

  /** Mounts `image` (or nothing) with a new upper dir, runs fn, unmounts, and stages the upper dir as a layer. */
  private async withOverlay(image: ImageRecord | undefined, fn: (root: string) => Promise<void>): Promise<StagedLayer | undefined> {
    const base = await fs.mkdtemp(`${this.host.tmpDir}/ov-`);
    const p: RootfsPaths = { upper: `${base}/upper`, work: `${base}/work`, merged: `${base}/merged` };
    await mountOverlay(image ? this.host.images.layerDirs(image) : [], p);
    try {
      await fn(p.merged);
    } finally {
      await unmountOverlay(p);
    }
    try {
      if ((await fs.readdir(p.upper)).length === 0) return undefined;
      return await this.host.images.stageLayer(layerTar(p.upper));
    } finally {
      await fs.rm(base, { recursive: true, force: true });
    }
  }

  /** The root a COPY --from reads: a stage's image or any image, mounted read-only for fn. */
  private async withImageRoot<T>(image: ImageRecord, fn: (root: string) => Promise<T>): Promise<T> {
    const base = await fs.mkdtemp(`${this.host.tmpDir}/from-`);
    const p: RootfsPaths = { upper: `${base}/upper`, work: `${base}/work`, merged: `${base}/merged` };
    await mountOverlay(this.host.images.layerDirs(image), p);
    try {
      return await fn(p.merged);
    } finally {
      await unmountOverlay(p);
      await fs.rm(base, { recursive: true, force: true });
    }
  }

  private async copyStep(st: StageState, ins: CopyInstruction | AddInstruction): Promise<void> {
    const cmd = ins.kind;
    const workdir = (st.config.WorkingDir as string | undefined) || '/';
    let dest = ins.dest.startsWith('/') ? ins.dest : path.posix.join(workdir, ins.dest) + (ins.dest.endsWith('/') || ins.dest === '.' ? '/' : '');
    if (dest === '') dest = '/';
    let fromImage: ImageRecord | undefined;
    if (ins.kind === 'COPY' && ins.from !== undefined) fromImage = await this.copyFromImage(ins.from, st);
    const run = async (srcRoot: string) => {
      const inline = ins.inline.map((s) => ({ source: s.name, data: s.data }));
      const sources = ins.sources.length ? await expandSources(srcRoot, ins.sources, { cmd, dest: inline.length ? undefined : dest }) : [];
      if (sources.length + inline.length > 1 && !dest.endsWith('/')) {
        throw new EngineError(400, `When using ${cmd} with more than one source file, the destination must be a directory and end with a /`);
      }
      const sum = fromImage ? `image:${fromImage.id}:${JSON.stringify(sources.map((s) => s.path))}` : await checksumSources(srcRoot, sources);
      const inlineSum = createHash('sha256').update(JSON.stringify(inline)).digest('hex');
      const kind = sources.length + inline.length > 1 ? 'multi' : sources[0]?.isDir ? 'dir' : 'file';
      const desc = `${cmd} ${kind}:${createHash('sha256').update(sum + inlineSum).digest('hex')} in ${dest} `;
      const extra = [sum, inlineSum, ins.chown ?? '', ins.chmod ?? ''];
      await this.fsStep(st, desc, extra, () => undefined, async (root) => {
        const owner = ins.chown ? await resolveOwner(root, ins.chown) : { uid: 0, gid: 0 };
        const mode = ins.chmod ? parseChmod(ins.chmod) : undefined;
        const ctx: CopyCtx = { root, owner, mode, add: ins.kind === 'ADD' && ins.unpack !== false, tmp: this.host.tmpDir };
        const many = sources.length + inline.length > 1 || dest.endsWith('/');
        for (const s of sources) {
          if (s.url) await copyUrl(ctx, s.url, dest);
          else await copySource(ctx, srcRoot, s, dest, many);
        }
        for (const s of inline) {
          const target = many || (await isDirIn(root, dest)) ? path.posix.join(dest, s.source) : dest;
          await writeInRoot(ctx, target, Buffer.from(s.data), mode ?? 0o644);
        }
      });
    };
    if (fromImage) await this.withImageRoot(fromImage, run);
    else await run(this.contextDir);
  }

  private async copyFromImage(from: string, st: StageState): Promise<ImageRecord> {
    const current = [...this.results.keys()].length;
    const stage = findStage(this.df, from.toLowerCase(), current);
    if (stage && (stage.name !== undefined || /^\d+$/.test(from))) {
      const img = this.results.get(stage.index);
      if (!img) throw invalidParameter(`stage ${from} has no filesystem to copy from`);
      return img;
    }
    if (/^\d+$/.test(from)) throw invalidParameter(`invalid from flag value ${from}: refers to current build stage`);
    void st;
    const local = this.host.images.tryGet(from);
    if (local) return local;
    await this.host.pull(parseReference(from), this.opts.platform);
    return this.host.images.get(from);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// file operations inside a mounted root (every path confined: parents are created as real directories and
// symlinks in the destination path are resolved inside the root, never outside)

interface CopyCtx { root: string; owner: { uid: number; gid: number }; mode?: number; add: boolean; tmp: string }

/** The host path of `p` inside root, following symlinks of the image's tree within root. */
async function hostPath(root: string, p: string): Promise<string> {
  const parts = p.split('/').filter((x) => x && x !== '.');
  let cur: string[] = [];
  for (let i = 0, hops = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === '..') { cur.pop(); continue; }
    const candidate = path.join(root, ...cur, part);
    const st = await fs.lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink() && hops++ < 40) {
      const target = await fs.readlink(candidate);
      const rest = parts.slice(i + 1);
      const base = target.startsWith('/') ? [] : cur;
      const next = [...base, ...target.split('/').filter((x) => x && x !== '.'), ...rest];
      parts.splice(0, parts.length, ...next);
      cur = [];
      i = -1;
      continue;
    }
    cur.push(part);
  }
  return path.join(root, ...cur);
}

async function isDirIn(root: string, p: string): Promise<boolean> {
  return (await fs.stat(await hostPath(root, p)).catch(() => undefined))?.isDirectory() ?? false;
}

/** mkdir -p inside root; new directories get the copy's owner (docker gives created parents the --chown owner). */
async function mkdirp(root: string, p: string, owner: { uid: number; gid: number }): Promise<string> {
  const parts = p.split('/').filter((x) => x && x !== '.');
  let sofar = '/';
  for (const part of parts) {
    sofar = path.posix.join(sofar, part);
    const host = await hostPath(root, sofar);
    const st = await fs.lstat(host).catch(() => undefined);
    if (!st) {
      await fs.mkdir(host, { mode: 0o755 });
      await fs.chown(host, owner.uid, owner.gid);
    } else if (!st.isDirectory()) {
      throw invalidParameter(`failed to copy files: mkdir ${sofar}: not a directory`);
    }
  }
  return hostPath(root, p);
}

async function mkdirInRoot(root: string, dir: string, _st: StageState): Promise<void> {
  await mkdirp(root, dir, { uid: 0, gid: 0 });
}

async function writeInRoot(ctx: CopyCtx, target: string, data: Buffer, mode: number): Promise<void> {
  await mkdirp(ctx.root, path.posix.dirname(target), ctx.owner);
  const host = await hostPath(ctx.root, target);
  await fs.rm(host, { force: true, recursive: true });
  await fs.writeFile(host, data, { mode, flag: C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW });
  await fs.chmod(host, mode);
  await fs.chown(host, ctx.owner.uid, ctx.owner.gid);
}

/** One matched source to its place: a directory's contents go into dest; a file goes to dest or dest/name. */
async function copySource(ctx: CopyCtx, srcRoot: string, s: CopySource, dest: string, many: boolean): Promise<void> {
  const src = s.resolved === '' ? srcRoot : path.join(srcRoot, s.resolved);
  if (s.isDir) {
    await mkdirp(ctx.root, dest, ctx.owner);
    await copyTree(ctx, src, dest);
    return;
  }
  const name = path.posix.basename(s.path);
  if (ctx.add && await isArchive(src)) {
    await extractArchive(ctx, src, dest);
    return;
  }
  const target = many || dest.endsWith('/') || (await isDirIn(ctx.root, dest)) ? path.posix.join(dest, name) : dest;
  await copyFile(ctx, src, target);
}

async function copyFile(ctx: CopyCtx, src: string, target: string): Promise<void> {
  const st = await fs.stat(src);
  await mkdirp(ctx.root, path.posix.dirname(target), ctx.owner);
  const host = await hostPath(ctx.root, target);
  const old = await fs.lstat(host).catch(() => undefined);
  if (old?.isDirectory()) await fs.rm(host, { recursive: true, force: true });
  else if (old) await fs.unlink(host);
  await fs.copyFile(src, host);
  await fs.chmod(host, ctx.mode ?? (st.mode & 0o7777));
  await fs.chown(host, ctx.owner.uid, ctx.owner.gid);
  await fs.utimes(host, st.atime, st.mtime);
}

/** Copies a directory's entries (not the directory itself) into the directory `dest` of the root. */
async function copyTree(ctx: CopyCtx, srcDir: string, dest: string): Promise<void> {
  for (const e of await fs.readdir(srcDir, { withFileTypes: true })) {
    const src = path.join(srcDir, e.name);
    const target = path.posix.join(dest, e.name);
    const st = await fs.lstat(src);
    if (st.isDirectory()) {
      const host = await hostPath(ctx.root, target);
      const old = await fs.lstat(host).catch(() => undefined);
      if (old && !old.isDirectory()) await fs.rm(host, { force: true });
      if (!old || !old.isDirectory()) await fs.mkdir(host);
      await fs.chmod(host, ctx.mode ?? (st.mode & 0o7777));
      await fs.chown(host, ctx.owner.uid, ctx.owner.gid);
      await copyTree(ctx, src, target);
    } else if (st.isSymbolicLink()) {
      const host = await hostPath(ctx.root, path.posix.dirname(target));
      const at = path.join(host, e.name);
      await fs.rm(at, { force: true, recursive: true });
      await fs.symlink(await fs.readlink(src), at);
      await fs.lchown(at, ctx.owner.uid, ctx.owner.gid);
    } else if (st.isFile()) {
      await copyFile(ctx, src, target);
    }
  }
}

/** Whether ADD unpacks this file: a tar, plain or compressed (gzip, bzip2, xz), by its first bytes. */
async function isArchive(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const b = buf.subarray(0, bytesRead);
    if (b[0] === 0x1f && b[1] === 0x8b) return true;
    if (b.subarray(0, 3).toString('latin1') === 'BZh') return true;
    if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return bytesRead >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}

/** ADD of a local archive: unpacked with the context's confined extraction into a scratch dir, then copied. */
async function extractArchive(ctx: CopyCtx, file: string, dest: string): Promise<void> {
  const dir = await fs.mkdtemp(`${ctx.tmp}/add-`);
  try {
    await extractContext(fsReadable(file), dir);
    await mkdirp(ctx.root, dest, ctx.owner);
    // an archive keeps the owners in its headers unless --chown said otherwise
    await copyTree({ ...ctx, mode: undefined }, dir, dest);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function fsReadable(file: string): AsyncIterable<Uint8Array> {
  return (async function* () {
    const fh = await fs.open(file, 'r');
    try {
      for await (const chunk of fh.createReadStream()) yield chunk as Buffer;
    } finally {
      await fh.close().catch(() => undefined);
    }
  })();
}

/** ADD <url>: the file is saved as dest (or dest/<last path part>) with mode 0600, as docker does. */
async function copyUrl(ctx: CopyCtx, url: string, dest: string): Promise<void> {
  const resp = await fetch(url).catch((e) => { throw invalidParameter(`failed to GET ${url}: ${errorMessage(e)}`); });
  if (!resp.ok || !resp.body) throw invalidParameter(`failed to GET ${url} with status ${resp.status} ${resp.statusText}`);
  const name = path.posix.basename(new URL(url).pathname) || 'download';
  const target = dest.endsWith('/') || (await isDirIn(ctx.root, dest)) ? path.posix.join(dest, name) : dest;
  await mkdirp(ctx.root, path.posix.dirname(target), ctx.owner);
  const host = await hostPath(ctx.root, target);
  await fs.rm(host, { force: true, recursive: true });
  const fh = await fs.open(host, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, ctx.mode ?? 0o600);
  try {
    await pipeline(Readable.fromWeb(resp.body as import('stream/web').ReadableStream), fh.createWriteStream());
  } finally {
    await fh.close().catch(() => undefined);
  }
  await fs.chmod(host, ctx.mode ?? 0o600);
  await fs.chown(host, ctx.owner.uid, ctx.owner.gid);
}

/** --chown user[:group], names looked up in the image's /etc/passwd and /etc/group. */
async function resolveOwner(root: string, spec: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = spec.split(':', 2);
  const table = async (file: string) => (await fs.readFile(await hostPath(root, file), 'utf8').catch(() => ''))
    .split('\n').map((l) => l.split(':')).filter((f) => f.length >= 3);
  const lookup = async (name: string, file: string): Promise<number> => {
    if (/^\d+$/.test(name)) return Number(name);
    const hit = (await table(file)).find((f) => f[0] === name);
    if (!hit) throw invalidParameter(`unable to convert uid/gid chown string to host mapping: can't find ${file === '/etc/passwd' ? 'uid' : 'gid'} for ${file === '/etc/passwd' ? 'user' : 'group'} ${name}: no such ${file === '/etc/passwd' ? 'user' : 'group'}`);
    return Number(hit[2]);
  };
  const uid = await lookup(user, '/etc/passwd');
  let gid = uid;
  if (group !== undefined) gid = await lookup(group, '/etc/group');
  else if (!/^\d+$/.test(user)) {
    const hit = (await table('/etc/passwd')).find((f) => f[0] === user);
    gid = hit ? Number(hit[3]) : uid;
  }
  return { uid, gid };
}

function parseChmod(s: string): number {
  if (!/^[0-7]{1,4}$/.test(s)) throw invalidParameter(`invalid chmod parameter: ${s}`);
  return parseInt(s, 8);
}

/** Receives the stdcopy-framed output of an attach and hands it on as text, whole lines where it can. */
class OutputSink extends Duplex {
  private pending = Buffer.alloc(0);
  private text = '';

  constructor(private readonly onText: (text: string) => void) {
    super();
  }

  override _read(): void { /* nothing is ever sent to the container */ }

  override _write(chunk: Buffer, _enc: string, cb: (err?: Error | null) => void): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const text = this.pending.subarray(8, 8 + size).toString('utf8');
      if (this.pending[0] === 2) {
        // stderr as dockerd's classic builder sends it: each write in red (SGR 91), apart from stdout's lines
        this.flush();
        this.onText(`\x1b[91m${text}\x1b[0m`);
      } else {
        this.text += text;
      }
      this.pending = this.pending.subarray(8 + size);
    }
    const nl = this.text.lastIndexOf('\n');
    if (nl >= 0) {
      this.onText(this.text.slice(0, nl + 1));
      this.text = this.text.slice(nl + 1);
    }
    cb();
  }

  override _final(cb: () => void): void {
    this.flush();
    cb();
  }

  flush(): void {
    if (this.text) this.onText(this.text);
    this.text = '';
  }
}

