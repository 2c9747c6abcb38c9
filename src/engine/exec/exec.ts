// docker exec: processes started in a running container's namespaces, each under its own berth-shim
// (so a TTY and the exit code are handled exactly like the container's own process).
import { promises as fs, writeFileSync } from 'fs';
import type { Duplex } from 'stream';
import type * as net from 'net';
import { conflict, invalidParameter, notFound, errorMessage } from '../../common/errors';
import { newId } from '../../common/ids';
import { canonicalKeys } from '../../common/go-json';
import { Shim } from '../../runtime/shim';
import { resolveUser } from '../../runtime/user';
import { processEnv } from '../../runtime/env';
import { resolveCapabilities, ociRlimits } from '../../runtime/spec';
import { NativeExecFiles } from './native';
import { execStartFailure, CWD_NOT_ABSOLUTE } from './errors';
import { parseSecurityOpt } from '../containers/security-opt';
import type { RuntimeDriver } from '../../runtime/runtime';
import type { ContainerStore } from '../containers/store';
import type { ContainerPaths } from '../containers/paths';
import type { ContainerRecord } from '../containers/types';
import { relay, parseDetachKeys, frame } from '../containers/attach';
import type { EventBus } from '../events';
import { log } from '../../common/log';

export interface ExecConfig {
  AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean; Tty?: boolean; Cmd?: string[];
  Env?: string[]; WorkingDir?: string; User?: string; Privileged?: boolean; DetachKeys?: string; ConsoleSize?: [number, number] | null;
}

interface ExecRecord {
  id: string; container: ContainerRecord; config: ExecConfig;
  running: boolean; started: boolean; exitCode: number | null; pid: number; shim?: Shim;
  /** a resize that came after the start request but before the shim existed: applied before the process starts */
  pendingSize?: [number, number];
  done: Promise<void>; finish: () => void;
}

/** An exec made ready to start: its shim, or the error its start reports; and the file handed to the shim, if any. */
type Prepared = { stateDir: string } & ({ shim: Shim; handedOver: string } | { error: string; handedOver?: string });

/** The part of the container engine exec needs (narrow: exec sits beside the engine, not on top of it). */
export interface ExecHost {
  readonly store: Pick<ContainerStore, 'get'>;
  readonly paths: ContainerPaths;
  driver(name: string): RuntimeDriver;
}

const EXEC_FIELDS = ['AttachStdin', 'AttachStdout', 'AttachStderr', 'ConsoleSize', 'DetachKeys', 'Tty', 'Env', 'Cmd', 'Privileged', 'User', 'WorkingDir'];

export class ExecEngine {
  private execs = new Map<string, ExecRecord>();
  private readonly nativeFiles = new NativeExecFiles();

  constructor(private readonly containers: ExecHost, private readonly events: EventBus) {}

  /** Docker forgets a container's exec instances when the container stops; so do we (no unbounded growth). */
  forgetContainer(containerId: string): void {
    for (const [id, ex] of this.execs) if (ex.container.Id === containerId && !ex.running) this.execs.delete(id);
    this.nativeFiles.forget(containerId);
  }

  idsFor(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.container.Id === containerId).map((e) => e.id);
  }

  create(ref: string, body: unknown): { Id: string } {
    const rec = this.containers.store.get(ref);
    if (!body || typeof body !== 'object') throw invalidParameter('invalid JSON: the request body must be a JSON object');
    // Go's JSON decoding matches field names case-insensitively: docker-py sends `detachKeys`
    const cfg = canonicalKeys(body as Record<string, unknown>, EXEC_FIELDS) as ExecConfig;
    if (!Array.isArray(cfg.Cmd) || !cfg.Cmd.length) throw invalidParameter('No exec command specified');
    if (rec.State.Status === 'paused') throw conflict(`Container ${rec.Id} is paused, unpause the container before exec`);
    if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
    const id = newId();
    let finish = () => {};
    const done = new Promise<void>((r) => { finish = r; });
    this.execs.set(id, { id, container: rec, config: cfg, running: false, started: false, exitCode: null, pid: 0, done, finish });
    this.events.emitEvent('container', `exec_create: ${cfg.Cmd.join(' ')}`, rec.Id, { execID: id });
    return { Id: id };
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  /** Starts the exec. With a client, output is relayed until the process exits; detached otherwise. */
  async start(id: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] | null }, client?: Duplex): Promise<void> {
    const ex = this.get(id);
    if (ex.started) throw conflict(`Error: Exec command ${id} has already run`);
    const rec = ex.container;
    if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
    ex.started = true;
    // As dockerd: the process gets a terminal if the create asked for one; the start's Tty only says whether the
    // stream is raw or multiplexed (docker-py starts a tty exec with Tty false and reads frames of pty output).
    const tty = !!ex.config.Tty;
    const rawStream = opts.tty ?? tty;
    const t0 = performance.now();
    const mark = (step: string) => log.debug('exec step', { id: id.slice(0, 12), step, ms: Math.round((performance.now() - t0) * 100) / 100 });
    const want = { stdin: !!ex.config.AttachStdin && !opts.detach, attach: !!client && !opts.detach };
    const prepared = await this.prepare(ex, this.containers.paths.execState(rec.Id, id), { ...want, consoleSize: opts.consoleSize });
    // What the exec leaves on tmpfs: the shim's state dir and the file handed to it. Removed once the process has
    // exited, and also when it never started (a missing binary used to leave both behind, exec after exec).
    const removeLeftovers = () => this.removePrepared(prepared.stateDir, prepared.handedOver);
    if ('error' in prepared) {
      // nothing was started (an unknown user, say): dockerd writes its error as it is
      this.fail(ex, client, prepared.error, rawStream);
      await removeLeftovers();
      return;
    }
    ex.shim = prepared.shim;
    mark('shim-spawn');
    const shim = ex.shim;
    // The attach connection was made at spawn (attachEarly): the start is sent without waiting for it, and the
    // shim attaches it before the process runs (PROTOCOL.md, `start`). With stdin attached the relay is set up
    // first, as the client's input may already be here: it must reach the shim while the process can take it
    // (a write to a shim that is gone fails, and Node then drops the connection with the output still unread).
    const attaching = client && !opts.detach ? shim.attach() : undefined;
    const relaying = (conn: net.Socket) => relay(client!, conn, {
      tty: rawStream, stdin: !!ex.config.AttachStdin, stdout: ex.config.AttachStdout !== false, stderr: ex.config.AttachStderr !== false,
      detachKeys: parseDetachKeys(ex.config.DetachKeys),
      onStdinEnd: () => { if (!tty) void shim.closeStdin().catch(() => undefined); },
      // The client reads the exit code right after the stream ends: record it first.
      beforeEnd: () => ex.done,
    });
    const relayed = attaching && ex.config.AttachStdin ? relaying(await attaching) : undefined;
    try {
      // The start's ConsoleSize goes to the shim before the start, which applies it the moment the terminal exists.
      // Sent after the start (as before), it could land after a resize the client sent meanwhile and undo it.
      if (tty && opts.consoleSize && opts.consoleSize[0] > 0) await shim.resize(opts.consoleSize[0], opts.consoleSize[1]).catch(() => undefined);
      if (tty && ex.pendingSize) await shim.resize(ex.pendingSize[0], ex.pendingSize[1]).catch(() => undefined);
      ex.pid = await shim.start();
      mark('shim-start');
      ex.running = true;
      this.events.emitEvent('container', `exec_start: ${ex.config.Cmd!.join(' ')}`, rec.Id, { execID: id });
    } catch (err) {
      // the client gets dockerd's words for it (errors.ts), which say "permission denied" for most causes: the
      // cause itself goes to the log
      log.info('exec start failed', { id: id.slice(0, 12), container: rec.Id.slice(0, 12), error: errorMessage(err) });
      shim.close();
      void attaching?.then((c) => c.destroy(), () => undefined);
      this.fail(ex, client, execStartFailure(ex.config.Cmd![0], errorMessage(err)), rawStream);
      await removeLeftovers();
      return;
    }
    void shim.exited.then(async (status) => {
      mark('exited');
      ex.running = false;
      ex.exitCode = status.exitCode;
      ex.pid = 0;
      this.events.emitEvent('container', 'exec_die', rec.Id, { execID: id, exitCode: String(status.exitCode) });
      // the client's stream ends once this is done (it then reads the exit code): the shim's leftovers are removed after
      ex.finish();
      await removeLeftovers();
    });
    if (attaching) await (relayed ?? relaying(await attaching));
    if (client) await ex.done;
    mark('done');
  }

  /**
   * Everything before the shim's `start`: the user, the process, the file handed to the shim, and the shim itself.
   * Never rejects: a failure is the `error` the exec's stream reports.
   */
  private async prepare(ex: ExecRecord, stateDir: string, o: { stdin: boolean; attach: boolean; consoleSize?: [number, number] | null }): Promise<Prepared> {
    const rec = ex.container;
    const tty = !!ex.config.Tty;
    const driver = this.containers.driver(rec.Runtime);
    const bundle = this.containers.paths.bundle(rec.Id);
    const spawn = (dir: string, processFile: string, native: boolean) => Shim.spawn({
      runtimePath: driver.execPath, runtimeRoot: driver.root, id: rec.Id, bundle, stateDir: dir,
      tty, stdin: o.stdin, stdinOnce: !!ex.config.AttachStdin && !tty,
      exec: { processFile, execId: ex.id, native }, attachEarly: o.attach,
    });
    // crun containers' non-terminal execs are started by the shim itself (native.ts says why); else the runtime.
    // The shim reads its file only at `start`: where the container is known to take the native path, the shim is
    // spawned first and the user and the file are worked out while the launcher starts it.
    const nativeName = `${stateDir}.exec`;
    const crunNative = !tty && driver.info.name === 'crun';
    let spawning = crunNative && this.nativeFiles.knownNative(rec.Id, rec.State.Pid) ? spawn(stateDir, nativeName, true) : undefined;
    spawning?.catch(() => undefined); // (awaited below, or given back)
    const giveBack = (early: Promise<Shim>) => void early.then((shim) => this.abandon({ stateDir, shim, handedOver: '' }), () => undefined);
    let handedOver: string | undefined;
    try {
      const cwd = ex.config.WorkingDir || rec.Config.WorkingDir || '/';
      if (!cwd.startsWith('/')) throw new Error(CWD_NOT_ABSOLUTE);
      const user = await resolveUser(this.containers.paths.rootfs(rec.Id).merged, ex.config.User || rec.Config.User);
      const caps = resolveCapabilities(rec.HostConfig.CapAdd ?? [], rec.HostConfig.CapDrop ?? [], rec.HostConfig.Privileged || ex.config.Privileged);
      const env = processEnv([...rec.Config.Env, ...(ex.config.Env ?? [])], { tty, home: user.home });
      const proc = {
        terminal: tty, user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
        args: ex.config.Cmd!, env, cwd,
        // as dockerd: an exec runs with the container's no-new-privileges
        capabilities: { bounding: caps, effective: caps, permitted: caps }, noNewPrivileges: parseSecurityOpt(rec.HostConfig.SecurityOpt as string[] | null).noNewPrivileges,
        ...(rec.HostConfig.Ulimits?.length ? { rlimits: ociRlimits(rec.HostConfig.Ulimits) } : {}),
        ...(tty && o.consoleSize ? { consoleSize: { height: o.consoleSize[0], width: o.consoleSize[1] } } : {}),
      };
      const nativeFile = crunNative ? await this.nativeFiles.write(nativeName, rec.Id, bundle, rec.State.Pid, proc) : undefined;
      handedOver = nativeFile ?? `${stateDir}.process.json`;
      if (!nativeFile) writeFileSync(handedOver, JSON.stringify(proc), { mode: 0o600, flag: 'wx' }); // as the native file (native.ts)
      if (spawning && nativeFile) return { stateDir, shim: await spawning, handedOver };
      let dir = stateDir;
      if (spawning) {
        // the exec itself needs the runtime after all (a NUL in its strings, say): that shim goes, another comes
        giveBack(spawning);
        spawning = undefined;
        dir = `${stateDir}-r`;
      }
      return { stateDir: dir, shim: await spawn(dir, handedOver, !!nativeFile), handedOver };
    } catch (err) {
      if (spawning) giveBack(spawning);
      return { stateDir, handedOver, error: errorMessage(err) };
    }
  }

  /** A prepared exec that will not start: its shim, told nothing, exits when its connection closes (PROTOCOL.md). */
  private async abandon(p: Prepared): Promise<void> {
    if ('shim' in p) p.shim.close();
    await this.removePrepared(p.stateDir, p.handedOver);
  }

  /** What an exec leaves on tmpfs: its shim's state dir and the file handed to the shim. */
  private async removePrepared(stateDir: string, handedOver?: string): Promise<void> {
    await fs.rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
    if (handedOver) await fs.rm(handedOver, { force: true }).catch(() => undefined);
  }

  /** The process could not be started: report it on the stream like Docker (exit 126). */
  private fail(ex: ExecRecord, client: Duplex | undefined, message: string, tty: boolean): void {
    log.debug('exec failed', { id: ex.id.slice(0, 12), message });
    // dockerd records 126 for every exec that could not start, a missing binary included (unlike `run`'s 127)
    ex.exitCode = 126;
    const text = `${message}\r\n`;
    if (client && !client.destroyed) {
      client.end(tty ? Buffer.from(text) : frame(1, text));
    }
    ex.finish();
  }

  /** Kills a running exec (a healthcheck probe past its timeout). */
  kill(id: string): void {
    const ex = this.execs.get(id);
    if (ex?.running && ex.pid > 0) {
      try { process.kill(ex.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }

  /** Drops a finished exec (healthcheck probes would otherwise pile up for as long as the container runs). */
  forget(id: string): void {
    const ex = this.execs.get(id);
    if (ex && !ex.running) this.execs.delete(id);
  }

  async resize(id: string, rows: number, cols: number): Promise<void> {
    const ex = this.get(id);
    // From the start request on, a resize is never lost: `docker exec -it` sends its first one right after the
    // start, while the shim may still be spawning (kept here, applied before the process starts) or the process
    // not started yet (the shim keeps it and applies it the moment the terminal exists).
    if (!ex.started || ex.exitCode !== null) throw conflict(`Exec ${id} is not running`);
    if (!ex.shim) { ex.pendingSize = [rows, cols]; return; }
    await ex.shim.resize(rows, cols);
  }

  inspect(id: string): Record<string, unknown> {
    const ex = this.get(id);
    const cmd = ex.config.Cmd ?? [];
    return {
      ID: ex.id, Running: ex.running, ExitCode: ex.exitCode, ProcessConfig: {
        tty: !!ex.config.Tty, entrypoint: cmd[0], arguments: cmd.slice(1), privileged: !!ex.config.Privileged, ...(ex.config.User ? { user: ex.config.User } : {}),
      },
      OpenStdin: !!ex.config.AttachStdin, OpenStderr: !!ex.config.AttachStderr, OpenStdout: !!ex.config.AttachStdout,
      CanRemove: false, ContainerID: ex.container.Id, DetachKeys: ex.config.DetachKeys ?? '', Pid: ex.pid,
    };
  }
}
