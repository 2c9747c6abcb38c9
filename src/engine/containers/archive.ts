// `docker cp` and `docker export` on the engine's side: stat a path in a container (HEAD /archive), archive it
// (GET /archive), extract a tar into a directory of it (PUT /archive), and the whole file system as a tar
// (GET /export). Running, paused, created and exited containers alike: the engine keeps the root file system
// mounted while an operation holds it (holdRootfs, counted). Paths are resolved inside the container's view
// (storage/archive-view.ts), so neither a symlink nor `..` nor a container racing us reaches outside it.
//
// Mounts: a path inside a mount is served from the mount's source. Today those are the /etc files the runtime
// bind-mounts (hosts, hostname, resolv.conf, once written); volumes and binds plug in with addMountResolver().
import { promises as fs } from 'fs';
import { EngineError, errorMessage, invalidParameter, notFound } from '../../common/errors';
import { log } from '../../common/log';
import { resolveUser } from '../../runtime/user';
import {
  cleanArchivePath, encodePathStat, goBase, linkTargetInView, PathStat, pathStat, resolveInView, Resolved,
} from '../../storage/archive-path';
import { packSingle, packTree, Writer } from '../../storage/archive-stream';
import { PathError, RootView, ViewMount, ViewMounts } from '../../storage/archive-view';
import { unpackStream } from '../../storage/unpack';
import type { ContainerPaths } from './paths';
import type { ContainerRecord } from './types';

/** What the engine gives an archive operation: the container and its mounted root until release(). */
export interface RootfsHold { rec: ContainerRecord; root: string; release(): Promise<void> }

/** The part of ContainerEngine this module needs (kept narrow so it is easy to test and to wire). */
export interface ArchiveHost {
  readonly paths: ContainerPaths;
  holdRootfs(ref: string): Promise<RootfsHold>;
  event(rec: ContainerRecord, action: string): void;
}

/** The mounts of a container as its processes see them; several resolvers add up (the deepest mount wins). */
export type MountResolver = (rec: ContainerRecord) => ViewMount[] | Promise<ViewMount[]>;

export interface PutOptions { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }

/** An archive being sent: its stat (for the header) and the function that streams it, once. */
export interface ArchiveSend {
  stat: PathStat;
  /** Streams the tar to `write`; releases the container whatever happens. */
  send(write: Writer, signal?: AbortSignal): Promise<void>;
  /** Releases the container without sending (the response failed before it began). */
  cancel(): Promise<void>;
}

const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'] as const;

export class ContainerArchive {
  private readonly resolvers: MountResolver[] = [];

  constructor(private readonly host: ArchiveHost) {
    this.resolvers.push((rec) => this.etcFiles(rec));
  }

  /** Adds the mounts of another kind (volumes, binds): a path inside one is read from and written to its source. */
  addMountResolver(r: MountResolver): void {
    this.resolvers.push(r);
  }

  /** HEAD /containers/{id}/archive. */
  async stat(ref: string, path: string): Promise<PathStat> {
    const abs = checkPath(path);
    const { view, hold } = await this.open(ref);
    try {
      const r = await this.resolve(view, abs, 'parents', ref, path);
      await r.close();
      return await this.statOf(view, abs, r);
    } finally {
      await hold.release();
    }
  }

  /** GET /containers/{id}/archive: the stat now, the tar when send() is called. */
  async get(ref: string, path: string): Promise<ArchiveSend> {
    const abs = checkPath(path);
    const { view, hold } = await this.open(ref);
    let r: Resolved | undefined;
    try {
      r = await this.resolve(view, abs, 'parents', ref, path);
      const stat = await this.statOf(view, abs, r);
      const resolved = r;
      const name = goBase(abs);
      let used = false;
      this.host.event(hold.rec, 'archive-path');
      return {
        stat,
        send: async (write, signal) => {
          if (used) throw new Error('archive already sent');
          used = true;
          try {
            if (resolved.st.isDirectory()) {
              await resolved.close(); // the worker walks it again, through its own descriptors
              await packTree({ view, rel: resolved.rel, rootName: name }, write, signal);
            } else {
              await packSingle(resolved, name, abs, write, capabilityReader());
            }
          } finally {
            await resolved.close();
            await hold.release();
          }
        },
        cancel: async () => {
          if (used) return;
          used = true;
          await resolved.close();
          await hold.release();
        },
      };
    } catch (err) {
      await r?.close();
      await hold.release();
      throw err;
    }
  }

  /** PUT /containers/{id}/archive: extracts `body` (a tar, possibly compressed) into the directory `path`. */
  async put(ref: string, path: string, body: AsyncIterable<Uint8Array>, opts: PutOptions): Promise<void> {
    const abs = checkPath(path);
    const { view, hold } = await this.open(ref);
    try {
      // every symlink followed, the last one too: an archive may be extracted "into" a link to a directory
      const r = await this.resolve(view, abs, 'all', ref, path);
      await r.close();
      if (!r.st.isDirectory()) throw invalidParameter('extraction point is not a directory');
      const mount = new ViewMounts(view.mounts).containing(r.rel);
      if (mount?.readOnly) throw invalidParameter('mounted volume is marked read-only');
      if (!mount && hold.rec.HostConfig.ReadonlyRootfs) throw invalidParameter('container rootfs is marked read-only');
      let chown: { uid: number; gid: number } | undefined;
      if (opts.copyUIDGID && hold.rec.Config.User) {
        // docker's copyUIDGID: everything belongs to the container's user (resolved in its own /etc/passwd)
        const u = await resolveUser(hold.root, hold.rec.Config.User);
        chown = { uid: u.uid, gid: u.gid };
      }
      await unpackStream(body, view.root, {
        decompress: true, noLchown: false,
        extract: { view, dest: r.rel, destShown: '/' + r.rel, noOverwriteDirNonDir: opts.noOverwriteDirNonDir, chown },
      });
      this.host.event(hold.rec, 'extract-to-dir');
    } finally {
      await hold.release();
    }
  }

  /** GET /containers/{id}/export: the container's merged file system, mounts left out (as docker does). */
  async export(ref: string): Promise<Omit<ArchiveSend, 'stat'>> {
    const hold = await this.host.holdRootfs(ref);
    let used = false;
    this.host.event(hold.rec, 'export');
    return {
      send: async (write, signal) => {
        if (used) throw new Error('archive already sent');
        used = true;
        try {
          await packTree({ view: { root: hold.root }, rel: '' }, write, signal);
        } finally {
          await hold.release();
        }
      },
      cancel: async () => {
        if (used) return;
        used = true;
        await hold.release();
      },
    };
  }

  private async open(ref: string): Promise<{ view: RootView; hold: RootfsHold }> {
    const hold = await this.host.holdRootfs(ref);
    try {
      const mounts: ViewMount[] = [];
      for (const r of this.resolvers) mounts.push(...await r(hold.rec));
      return { view: { root: hold.root, mounts }, hold };
    } catch (err) {
      await hold.release();
      throw err;
    }
  }

  private async resolve(view: RootView, abs: string, follow: 'parents' | 'all', ref: string, given: string): Promise<Resolved> {
    try {
      return await resolveInView(view, abs, follow);
    } catch (err) {
      if (err instanceof PathError && err.code === 'ENOENT') throw notFound(`Could not find the file ${given} in container ${ref}`);
      if (err instanceof PathError) throw new EngineError(500, err.message);
      throw err;
    }
  }

  private async statOf(view: RootView, abs: string, r: Resolved): Promise<PathStat> {
    let linkTarget = '';
    if (r.st.isSymbolicLink()) {
      linkTarget = await linkTargetInView(view, abs).catch((err) => { throw new EngineError(500, errorMessage(err)); });
    }
    return pathStat(goBase(abs), r.st, linkTarget);
  }

  /** /etc/hosts, /etc/hostname, /etc/resolv.conf: the files the runtime mounts, once a start has written them. */
  private async etcFiles(rec: ContainerRecord): Promise<ViewMount[]> {
    const paths = this.host.paths;
    const sources = { hosts: paths.hosts(rec.Id), hostname: paths.hostname(rec.Id), 'resolv.conf': paths.resolvConf(rec.Id) };
    const out: ViewMount[] = [];
    await Promise.all(ETC_FILES.map(async (f) => {
      if (await fs.stat(sources[f]).then((s) => s.isFile(), () => false)) out.push({ destination: `/etc/${f}`, source: sources[f] });
    }));
    return out;
  }
}

/** The path parameter, as docker checks and cleans it. */
function checkPath(path: string): string {
  if (path === '') throw invalidParameter('bad parameter: pathcannot be empty'); // sic: docker's own text
  if (path.includes('\0')) throw invalidParameter(`invalid path ${JSON.stringify(path)}`);
  return cleanArchivePath(path);
}

/** security.capability of an open file, through koffi (loaded on first use, daemon only). */
function capabilityReader(): ((fd: number) => Buffer | undefined) | undefined {
  try {
    const { fgetxattrSync } = require('../../storage/special-files') as typeof import('../../storage/special-files');
    return (fd) => fgetxattrSync(fd, 'security.capability');
  } catch (err) {
    log.debug('no capability reader', { error: errorMessage(err) });
    return undefined;
  }
}

export { encodePathStat };
