// Commands that stream a container's stdio: exec, attach, start (with -a/-i).
import { CommandSpec, StatusError, flagDefs, Parsed, BIN } from '../command';
import type { Cmd, Ctx } from '../cmd';
import { readEnv, validateEnv, bounded } from './util';
import * as hijack from './hijack';
import { isTerminal } from '../stdio';


export function command(id: string): Cmd {
  const name = id.replace(/^container /, '');
  switch (name) {
    case 'exec': return execCommand(id);
    case 'attach': return attachCommand(id);
    case 'start': return startCommand(id);
  }
  throw new Error(`unknown command ${id}`);
}

function execCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] CONTAINER COMMAND [ARG...]',
    short: 'Execute a command in a running container',
    aliases: `${BIN} container exec, ${BIN} exec`,
    args: { min: 2 },
    noInterspersed: true,
    flags: flagDefs([
      ['', 'detach-keys', 'string', 'Override the key sequence for detaching a container'],
      ['i', 'interactive', 'bool', 'Keep STDIN open even if not attached'],
      ['t', 'tty', 'bool', 'Allocate a pseudo-TTY'],
      ['d', 'detach', 'bool', 'Detached mode: run command in the background'],
      ['u', 'user', 'string', 'Username or UID (format: "<name|uid>[:<group|gid>]")'],
      ['', 'privileged', 'bool', 'Give extended privileges to the command'],
      ['e', 'env', 'list', 'Set environment variables'],
      ['', 'env-file', 'list', 'Read in a file of environment variables'],
      ['w', 'workdir', 'string', 'Working directory inside the container'],
    ]),
  };
  return { spec, validators: { env: validateEnv }, run: runExec };
}

async function runExec(ctx: Ctx, p: Parsed): Promise<number> {
  const [container, ...cmd] = p.args;
  const detach = p.bool('detach');
  const tty = p.bool('tty');
  const interactive = p.bool('interactive');
  const env = readEnv(p.list('env-file'), p.list('env'));
  const body: Record<string, unknown> = {
    User: p.str('user'),
    Privileged: p.bool('privileged'),
    Tty: tty,
    ConsoleSize: null,
    AttachStdin: !detach && interactive,
    AttachStderr: !detach,
    AttachStdout: !detach,
    Detach: detach,
    DetachKeys: p.str('detach-keys'),
    Env: env.length ? env : null,
    WorkingDir: p.str('workdir'),
    Cmd: cmd,
  };
  const client = ctx.client();
  await client.containerInspect(container);
  if (!detach) hijack.checkTty(!!body.AttachStdin, tty);
  const size = tty ? hijack.ttySize() : null;
  if (size) body.ConsoleSize = size;
  const { Id: execId } = await client.execCreate(container, body);
  if (!execId) throw new Error('exec ID empty');
  if (detach) {
    await client.execStart(execId, { Detach: true, Tty: tty, ConsoleSize: size });
    return 0;
  }
  const conn = await client.execStartHijack(execId, { Detach: false, Tty: tty, ConsoleSize: size });
  const s = hijack.streamHijacked(conn, {
    tty, stdin: !!body.AttachStdin, stdout: true, stderr: true, detachKeys: p.str('detach-keys'),
  });
  if (tty && isTerminal(0)) hijack.monitorTtySize(client, execId, true);
  await s.done;
  try {
    const r = await client.execInspect(execId);
    return r.ExitCode ?? 0;
  } catch (err) {
    if ((err as Error).name === 'ConnectionError') return -1 & 0xff;
    throw err;
  }
}

function attachCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] CONTAINER',
    short: 'Attach local standard input, output, and error streams to a running container',
    aliases: `${BIN} container attach, ${BIN} attach`,
    args: { exact: 1 },
    flags: flagDefs([
      ['', 'no-stdin', 'bool', 'Do not attach STDIN'],
      ['', 'sig-proxy', 'bool', 'Proxy all received signals to the process', 'true'],
      ['', 'detach-keys', 'string', 'Override the key sequence for detaching a container'],
    ]),
  };
  return { spec, run: runAttach };
}

type Inspect = Awaited<ReturnType<import('../../client').Client['containerInspect']>>;

function checkState(c: Inspect): void {
  if (!c.State?.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
  if (c.State.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
  if (c.State.Restarting) throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
}

async function runAttach(ctx: Ctx, p: Parsed): Promise<number> {
  const client = ctx.client();
  const ref = p.args[0];
  const wait = client.containerWait(ref);
  wait.result.catch(() => undefined);
  const c = await client.containerInspect(ref);
  checkState(c);
  const tty = !!c.Config?.Tty;
  hijack.checkTty(!p.bool('no-stdin'), tty);
  const detachKeys = p.str('detach-keys');
  const stdin = !p.bool('no-stdin') && !!c.Config?.OpenStdin;
  if (p.bool('sig-proxy', true) && !tty) hijack.forwardSignals(client, ref);
  const conn = await client.containerAttach(ref, { stream: '1', stdin: stdin ? '1' : undefined, stdout: '1', stderr: '1', detachKeys: detachKeys || undefined });
  checkState(await client.containerInspect(ref));
  if (tty && isTerminal(1)) {
    const [h, w] = hijack.ttySize();
    client.containerResize(ref, h + 1, w + 1).catch(() => undefined);
    hijack.monitorTtySize(client, ref, false);
  }
  const s = hijack.streamHijacked(conn, { tty, stdin, stdout: true, stderr: true, detachKeys });
  await s.done;
  const r = await wait.result;
  if (r.Error?.Message) throw new StatusError(1, r.Error.Message);
  return r.StatusCode;
}

function startCommand(id: string): Cmd {
  const spec: CommandSpec = {
    path: id,
    use: '[OPTIONS] CONTAINER [CONTAINER...]',
    short: 'Start one or more stopped containers',
    aliases: `${BIN} container start, ${BIN} start`,
    args: { min: 1 },
    flags: flagDefs([
      ['a', 'attach', 'bool', 'Attach STDOUT/STDERR and forward signals'],
      ['i', 'interactive', 'bool', "Attach container's STDIN"],
      ['', 'detach-keys', 'string', 'Override the key sequence for detaching a container'],
      ['', 'checkpoint', 'string', 'Restore from this checkpoint'],
      ['', 'checkpoint-dir', 'string', 'Use a custom checkpoint storage directory'],
    ]),
  };
  return { spec, run: runStart };
}

async function runStart(ctx: Ctx, p: Parsed): Promise<number> {
  const client = ctx.client();
  const checkpoint = p.str('checkpoint');
  const checkpointDir = p.str('checkpoint-dir');
  if (p.bool('attach') || p.bool('interactive')) {
    if (p.args.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
    const c = await client.containerInspect(p.args[0]);
    const tty = !!c.Config?.Tty;
    if (!tty) hijack.forwardSignals(client, c.Id);
    const detachKeys = p.str('detach-keys');
    const stdin = p.bool('interactive') && !!c.Config?.OpenStdin;
    const conn = await client.containerAttach(c.Id, { stream: '1', stdin: stdin ? '1' : undefined, stdout: '1', stderr: '1', detachKeys: detachKeys || undefined });
    const s = hijack.streamHijacked(conn, { tty, stdin, stdout: true, stderr: true, detachKeys });
    const wait = client.containerWait(c.Id, c.HostConfig?.AutoRemove ? 'removed' : 'next-exit');
    await Promise.race([wait.registered.catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    const status = wait.result.then((r) => r.StatusCode, () => 125);
    try {
      await client.containerStart(c.Id, { checkpoint: checkpoint || undefined, 'checkpoint-dir': checkpointDir || undefined });
    } catch (err) {
      s.close();
      await s.done.catch(() => undefined);
      if (c.HostConfig?.AutoRemove) await bounded(status, 10000);
      throw err;
    }
    if (tty && isTerminal(1)) hijack.monitorTtySize(client, c.Id, false);
    try {
      await s.done;
    } catch (err) {
      if (err instanceof hijack.EscapeError) return 0;
      throw err;
    }
    return await status;
  }
  if (checkpoint) {
    if (p.args.length > 1) throw new StatusError(1, 'you cannot restore multiple containers at once');
    await client.containerStart(p.args[0], { checkpoint, 'checkpoint-dir': checkpointDir || undefined });
    return 0;
  }
  const failed: string[] = [];
  for (const c of p.args) {
    try {
      await client.containerStart(c);
      ctx.out(c + '\n');
    } catch (err) {
      ctx.err((err as Error).message + '\n');
      failed.push(c);
    }
  }
  if (failed.length) throw new StatusError(1, `Error: failed to start containers: ${failed.join(', ')}`);
  return 0;
}
