// `run` and `create`, in docker's order: create (pulling on a 404 for the image, then creating again),
// attach (hijack) before start, wait (next-exit, or removed with --rm) registered before start, start,
// then stream until the container exits; the exit status is the wait result's StatusCode.
import { CommandSpec, FlagTuple, StatusError, flagDefs, Parsed, BIN } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { ApiError, type Client } from '../../client';
import { CONTAINER_FLAGS, CONTAINER_VALIDATORS, buildContainerConfig, type ContainerConfig } from './opts';
import { validateEnv, validateLabel, bounded } from './util';
import { isTerminal, progressOut, stdout } from '../stdio';
import { parseAnyReference, familiarString, tagNameOnly, refName, apiTag, type Ref } from './reference';

const RUN_ONLY: FlagTuple[] = [
  ['d', 'detach', 'bool', 'Run container in background and print container ID'],
  ['', 'sig-proxy', 'bool', 'Proxy received signals to the process', 'true'],
  ['', 'name', 'string', 'Assign a name to the container'],
  ['', 'detach-keys', 'string', 'Override the key sequence for detaching a container'],
  ['', 'pull', 'string', 'Pull image before running ("always", "missing", "never")', '"missing"'],
  ['q', 'quiet', 'bool', 'Suppress the pull output'],
  ['', 'use-api-socket', 'bool', 'Bind mount Docker API socket and required auth'],
  ['', 'help', 'bool', 'Print usage'],
  ['', 'platform', 'string', 'Set platform if server is multi-platform capable'],
  ['', 'disable-content-trust', 'bool', 'Skip image verification', 'true'],
];

const CREATE_ONLY: FlagTuple[] = [
  ['', 'name', 'string', 'Assign a name to the container'],
  ['', 'pull', 'string', 'Pull image before creating ("always", "|missing", "never")', '"missing"'],
  ['q', 'quiet', 'bool', 'Suppress the pull output'],
  ['', 'use-api-socket', 'bool', 'Bind mount Docker API socket and required auth'],
  ['', 'help', 'bool', 'Print usage'],
  ['', 'platform', 'string', 'Set platform if server is multi-platform capable'],
  ['', 'disable-content-trust', 'bool', 'Skip image verification', 'true'],
];

const VALIDATORS = { ...CONTAINER_VALIDATORS, env: validateEnv, label: validateLabel };

export function command(id: string): Cmd {
  const isRun = id === 'run' || id === 'container run';
  const name = isRun ? 'run' : 'create';
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    short: isRun ? 'Create and run a new container from an image' : 'Create a new container',
    aliases: `${BIN} container ${name}, ${BIN} ${name}`,
    flags: flagDefs([...(isRun ? RUN_ONLY : CREATE_ONLY), ...CONTAINER_FLAGS]),
    args: { min: 1 },
    noInterspersed: true,
    ownsH: true,
  };
  return { spec, validators: VALIDATORS, run: (ctx, p) => (isRun ? runRun(ctx, p, spec) : runCreate(ctx, p, spec)) };
}

/** withHelp: "berth: <err>\n\nRun 'berth run --help' for more information". */
const withHelp = (msg: string, cmd: string) => `${BIN}: ${msg}\n\nRun '${BIN} ${cmd} --help' for more information`;

function validatePull(v: string): void {
  if (!['always', 'missing', 'never', ''].includes(v)) {
    throw new Error(`invalid pull option: '${v}': must be one of "always", "missing" or "never"`);
  }
}

function parseConfig(p: Parsed, cmd: string): ContainerConfig {
  try {
    validatePull(p.str('pull', 'missing'));
    return buildContainerConfig(p, p.args[0], p.args.slice(1));
  } catch (err) {
    throw new StatusError(125, withHelp((err as Error).message, cmd));
  }
}

/** toStatusError: 127 for "not found" start errors, 126 for permission errors, else 125. */
export function toStatusError(err: Error, cmd = 'run'): StatusError {
  if (err instanceof StatusError) return err;
  const msg = err.message;
  let status = 125;
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(msg)) status = 127;
  else if (/permission denied|is a directory/.test(msg)) status = 126;
  return new StatusError(status, withHelp(msg, cmd));
}

async function runCreate(ctx: Ctx, p: Parsed, _spec: CommandSpec): Promise<number> {
  const cfg = parseConfig(p, 'create');
  const id = await createContainer(ctx, cfg, p);
  ctx.out(id + '\n');
  return 0;
}

interface CreateOpts { name: string; pull: string; quiet: boolean; platform: string }

/** Pulls an image, rendering progress on stderr (POST /images/create?fromImage=…&tag=…). */
export async function pullImage(client: Client, ref: Ref, platform: string, quiet: boolean): Promise<void> {
  const { displayJsonMessages } = require('./progress') as typeof import('./progress');
  const { registryAuthHeader } = require('./registry-auth') as typeof import('./registry-auth');
  const res = await client.imageCreate(
    { fromImage: refName(ref), tag: apiTag(ref), platform: platform ? platform.toLowerCase() : undefined },
    undefined,
    { 'X-Registry-Auth': await registryAuthHeader(ref.domain) },
  );
  await displayJsonMessages(res, quiet ? null : progressOut(2));
}

/** createContainer: cidfile, pull policy, create with the "Unable to find image" pull-and-retry. */
export async function createContainer(ctx: Ctx, cfg: ContainerConfig, p: Parsed): Promise<string> {
  const opts: CreateOpts = { name: p.str('name'), pull: p.str('pull', 'missing'), quiet: p.bool('quiet'), platform: p.str('platform') };
  const client = ctx.client();
  const fs: typeof import('fs') = require('fs');
  const cidPath = String(cfg.HostConfig.ContainerIDFile ?? '');
  let cidFd: number | undefined;
  if (cidPath) {
    if (fs.existsSync(cidPath)) throw new Error(`container ID file found, make sure the other container isn't running or delete ${cidPath}`);
    try {
      cidFd = fs.openSync(cidPath, 'w');
    } catch (err) {
      throw new Error(`failed to create the container ID file: ${(err as Error).message}`);
    }
  }
  let written = false;
  try {
    const image = String(cfg.Config.Image);
    const ref = parseAnyReference(image);
    const named = ref ? tagNameOnly(ref) : null;
    if (opts.pull === 'always' && named) await pullImage(client, named, opts.platform, opts.quiet);
    const [h, w] = ttySizeOf();
    cfg.HostConfig.ConsoleSize = [h, w];
    const body = { ...cfg.Config, HostConfig: cfg.HostConfig, NetworkingConfig: cfg.NetworkingConfig };
    let res;
    try {
      res = await client.containerCreate(body, opts.name, opts.platform);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404 && named && opts.pull === 'missing')) throw err;
      if (!opts.quiet) ctx.err(`Unable to find image '${familiarString(named)}' locally\n`);
      await pullImage(client, named, opts.platform, opts.quiet);
      res = await client.containerCreate(body, opts.name, opts.platform);
    }
    const warnings = [...(res.Warnings ?? [])];
    for (const dns of (cfg.HostConfig.Dns as string[]) ?? []) {
      if (/^127\.|^::1$/.test(dns)) { warnings.push(`Localhost DNS (${dns}) may fail in containers.`); break; }
    }
    for (const wmsg of warnings) ctx.err(`WARNING: ${wmsg}\n`);
    if (cidFd !== undefined) {
      fs.writeSync(cidFd, res.Id);
      written = true;
    }
    return res.Id;
  } finally {
    if (cidFd !== undefined) {
      fs.closeSync(cidFd);
      if (!written) try { fs.unlinkSync(cidPath); } catch { /* gone */ }
    }
  }
}

function ttySizeOf(): [number, number] {
  if (!isTerminal(1)) return [0, 0];
  const out = stdout();
  return [out.rows || 0, out.columns || 0];
}

async function runRun(ctx: Ctx, p: Parsed, _spec: CommandSpec): Promise<number> {
  const cfg = parseConfig(p, 'run');
  const hijack = require('./hijack') as typeof import('./hijack');
  const config = cfg.Config as { AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean; Tty: boolean; StdinOnce: boolean };
  const detach = p.bool('detach');
  const autoRemove = !!cfg.HostConfig.AutoRemove;
  (cfg.Config as Record<string, unknown>).ArgsEscaped = undefined;
  if (!detach) {
    hijack.checkTty(config.AttachStdin, config.Tty);
  } else {
    if (p.list('attach').length !== 0) throw new StatusError(1, 'conflicting options: cannot specify both --attach and --detach');
    config.AttachStdin = false;
    config.AttachStdout = false;
    config.AttachStderr = false;
    config.StdinOnce = false;
  }

  let id: string;
  try {
    id = await createContainer(ctx, cfg, p);
  } catch (err) {
    throw toStatusError(err as Error);
  }
  const client = ctx.client();
  if (p.bool('sig-proxy', true)) hijack.forwardSignals(client, id);

  // Attach and wait both go out before start, as docker's: attach so no output is lost, wait so the exit is not
  // missed. They go out together rather than one after the other (one round trip less, same guarantees).
  const attach = config.AttachStdin || config.AttachStdout || config.AttachStderr;
  const detachKeys = p.str('detach-keys');
  const conn = attach ? client.containerAttach(id, {
    stream: '1',
    stdin: config.AttachStdin ? '1' : undefined,
    stdout: config.AttachStdout ? '1' : undefined,
    stderr: config.AttachStderr ? '1' : undefined,
    detachKeys: detachKeys || undefined,
  }) : undefined;
  const wait = client.containerWait(id, autoRemove ? 'removed' : 'next-exit');
  wait.result.catch(() => undefined); // a failed attach leaves it unread
  let streamer: import('./hijack').Streamer | undefined;
  if (conn) {
    streamer = hijack.streamHijacked(await conn, {
      tty: config.Tty, stdin: config.AttachStdin, stdout: config.AttachStdout, stderr: config.AttachStderr, detachKeys,
    });
  }
  await registered(wait.registered);
  const status = wait.result.then(
    (r) => {
      if (r.Error?.Message) { ctx.err(`Error waiting for container: ${r.Error.Message}\n`); return 125; }
      return r.StatusCode;
    },
    (err: Error) => { ctx.err(`error waiting for container: ${err.message}\n`); return 125; },
  );

  try {
    await client.containerStart(id);
  } catch (err) {
    if (streamer) { streamer.close(); await streamer.done.catch(() => undefined); }
    // docker waits for the removal here; a daemon that never removes a container it failed to start must
    // not hang the CLI, so the wait is bounded (the daemon finishes the removal on its own).
    if (autoRemove) await bounded(status, 10000);
    throw toStatusError(err as Error);
  }

  if (!attach) {
    ctx.out(id + '\n');
    return 0;
  }
  if (config.Tty && isTerminal(1)) hijack.monitorTtySize(client, id, false);

  const s = streamer!;
  const first = await Promise.race([
    s.done.then(() => ({ kind: 'stream' as const, err: undefined as Error | undefined }), (err: Error) => ({ kind: 'stream' as const, err })),
    status.then((code) => ({ kind: 'status' as const, code })),
  ]);
  if (first.kind === 'stream') {
    if (first.err) {
      if (first.err instanceof hijack.EscapeError) return 0;
      throw first.err;
    }
    return await status;
  }
  // The container exited: let the output drain (unless nothing but stdin was attached).
  if (!config.AttachStdout && !config.AttachStderr) s.close();
  await s.done.catch(() => undefined);
  return first.code;
}

/**
 * Waits until the daemon has accepted the wait request (its headers arrived) so `start` cannot race the
 * exit; a daemon that only answers at exit is tolerated after a short grace period instead of hanging.
 */
async function registered(p: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((r) => { timer = setTimeout(r, 1000); }),
  ]);
  if (timer) clearTimeout(timer);
}
