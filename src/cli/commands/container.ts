// Container lifecycle commands that take one or more ids: stop, kill, rm, restart, pause, unpause, wait,
// plus rename, top and port. Like docker: requests run in parallel, names print in argument order, and every
// failure is reported on stderr at the end with exit status 1.
import { CommandSpec, FlagTuple, StatusError, flagDefs } from '../command';
import type { Cmd, Ctx } from '../cmd';
import type { Parsed } from '../command';
import { ApiError } from '../../client';
import type { HostPortBinding } from '../../client';
import { tabulate } from '../format/tabwriter';
import { naturalCompare } from './util';

const alias = (name: string, extra = '') => `berth container ${name}${extra}, berth ${name}`;

function spec(id: string, name: string, use: string, short: string, flags: FlagTuple[], args: CommandSpec['args'], extraAlias = ''): CommandSpec {
  return { path: id, use, short, aliases: alias(name, extraAlias), flags: flagDefs(flags), args };
}

/** docker's parallelOperation + the in-order result loop. */
async function forEachParallel(ctx: Ctx, ids: string[], op: (id: string) => Promise<unknown>, onErr?: (id: string, err: Error) => boolean): Promise<number> {
  const results = ids.map((id) => op(id).then(() => null, (err: Error) => err));
  const errs: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const err = await results[i];
    if (err) {
      if (onErr && onErr(ids[i], err)) continue;
      errs.push(err.message);
      continue;
    }
    ctx.out(ids[i] + '\n');
  }
  if (errs.length) throw new StatusError(1, errs.join('\n'));
  return 0;
}

const timeoutQuery = (p: Parsed) => {
  const changed = p.has('timeout') || p.has('time');
  return changed ? String(p.has('timeout') ? p.int('timeout') : p.int('time')) : undefined;
};

/** stop and restart take the same flags, and check them the same way */
const STOP_FLAGS: FlagTuple[] = [
  ['s', 'signal', 'string', 'Signal to send to the container'],
  ['t', 'timeout', 'int', 'Seconds to wait before killing the container'],
  ['', 'time', 'int', 'Seconds to wait before killing the container (deprecated: use --timeout)', '', 'deprecated=use --timeout instead'],
];

function stopOptions(p: Parsed): { t: string | undefined; signal: string | undefined } {
  if (p.has('time') && p.has('timeout')) throw new StatusError(1, 'conflicting options: cannot specify both --timeout and --time');
  return { t: timeoutQuery(p), signal: p.str('signal') || undefined };
}

export function command(id: string): Cmd {
  const name = id.replace(/^container /, '');
  switch (name) {
    case 'stop':
      return {
        spec: spec(id, 'stop', '[OPTIONS] CONTAINER [CONTAINER...]', 'Stop one or more running containers', STOP_FLAGS, { min: 1 }),
        async run(ctx, p) {
          const { t, signal } = stopOptions(p);
          return forEachParallel(ctx, p.args, (c) => ctx.client().containerStop(c, { t, signal }));
        },
      };
    case 'restart':
      return {
        spec: spec(id, 'restart', '[OPTIONS] CONTAINER [CONTAINER...]', 'Restart one or more containers', STOP_FLAGS, { min: 1 }),
        async run(ctx, p) {
          const { t, signal } = stopOptions(p);
          // docker restarts one after the other
          const errs: string[] = [];
          for (const c of p.args) {
            try {
              await ctx.client().containerRestart(c, { t, signal });
              ctx.out(c + '\n');
            } catch (err) {
              errs.push((err as Error).message);
            }
          }
          if (errs.length) throw new StatusError(1, errs.join('\n'));
          return 0;
        },
      };
    case 'kill':
      return {
        spec: spec(id, 'kill', '[OPTIONS] CONTAINER [CONTAINER...]', 'Kill one or more running containers', [
          ['s', 'signal', 'string', 'Signal to send to the container'],
        ], { min: 1 }),
        run: (ctx, p) => forEachParallel(ctx, p.args, (c) => ctx.client().containerKill(c, p.str('signal'))),
      };
    case 'rm':
      return {
        spec: spec(id, 'rm', '[OPTIONS] CONTAINER [CONTAINER...]', 'Remove one or more containers', [
          ['f', 'force', 'bool', 'Force the removal of a running container (uses SIGKILL)'],
          ['l', 'link', 'bool', 'Remove the specified link'],
          ['v', 'volumes', 'bool', 'Remove anonymous volumes associated with the container'],
        ], { min: 1 }, ', berth container remove'),
        run(ctx, p) {
          const force = p.bool('force');
          return forEachParallel(ctx, p.args, (c) => {
            const cid = c.replace(/^\/+|\/+$/g, '');
            if (cid === '') return Promise.reject(new Error('container name cannot be empty'));
            return ctx.client().containerRemove(cid, {
              v: p.bool('volumes') ? '1' : undefined, link: p.bool('link') ? '1' : undefined, force: force ? '1' : undefined,
            });
          }, (_id, err) => {
            // `rm -f` of a missing container is not an error (the message still goes to stderr)
            if (force && err instanceof ApiError && err.status === 404) { ctx.err(err.message + '\n'); return true; }
            return false;
          });
        },
      };
    case 'pause':
      return {
        spec: spec(id, 'pause', 'CONTAINER [CONTAINER...]', 'Pause all processes within one or more containers', [], { min: 1 }),
        run: (ctx, p) => forEachParallel(ctx, p.args, (c) => ctx.client().containerPause(c)),
      };
    case 'unpause':
      return {
        spec: spec(id, 'unpause', 'CONTAINER [CONTAINER...]', 'Unpause all processes within one or more containers', [], { min: 1 }),
        run: (ctx, p) => forEachParallel(ctx, p.args, (c) => ctx.client().containerUnpause(c)),
      };
    case 'wait':
      return {
        spec: spec(id, 'wait', 'CONTAINER [CONTAINER...]', 'Block until one or more containers stop, then print their exit codes', [], { min: 1 }),
        async run(ctx, p) {
          const errs: string[] = [];
          for (const c of p.args) {
            try {
              const r = await ctx.client().containerWait(c).result;
              ctx.out(`${r.StatusCode}\n`);
            } catch (err) {
              errs.push((err as Error).message);
            }
          }
          if (errs.length) throw new StatusError(1, errs.join('\n'));
          return 0;
        },
      };
    case 'rename':
      return {
        spec: spec(id, 'rename', 'CONTAINER NEW_NAME', 'Rename a container', [], { exact: 2 }),
        async run(ctx, p) {
          const [oldName, newName] = p.args.map((s) => s.trim());
          if (!oldName || !newName) throw new StatusError(1, 'Error: Neither old nor new names may be empty');
          try {
            await ctx.client().containerRename(oldName, newName);
          } catch (err) {
            ctx.err((err as Error).message + '\n');
            throw new StatusError(1, `Error: failed to rename container named ${oldName}`);
          }
          return 0;
        },
      };
    case 'top':
      return {
        spec: { ...spec(id, 'top', 'CONTAINER [ps OPTIONS]', 'Display the running processes of a container', [], { min: 1 }), noInterspersed: true },
        async run(ctx, p) {
          const [c, ...psArgs] = p.args;
          const r = await ctx.client().containerTop(c, psArgs.join(' '));
          let text = (r.Titles ?? []).join('\t') + '\n';
          for (const proc of r.Processes ?? []) text += proc.join('\t') + '\n';
          ctx.out(tabulate(text, 20, 3));
          return 0;
        },
      };
    case 'port':
      return {
        spec: spec(id, 'port', 'CONTAINER [PRIVATE_PORT[/PROTO]]', 'List port mappings or a specific mapping for the container', [], { range: [1, 2] }),
        run: (ctx, p) => runPort(ctx, p.args[0], p.args[1]),
      };
  }
  throw new Error(`unknown command ${id}`);
}

/** net.JoinHostPort: IPv6 hosts get brackets. */
const joinHostPort = (host: string, port: string) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * `port`: the container's published ports from inspect, "80/tcp -> 0.0.0.0:8080" lines in natural order,
 * or for one PRIVATE_PORT[/PROTO] (tcp by default) just its host addresses.
 */
async function runPort(ctx: Ctx, container: string, want?: string): Promise<number> {
  const c = await ctx.client().containerInspect(container);
  const ports = ((c.NetworkSettings as { Ports?: Record<string, HostPortBinding[] | null> } | undefined)?.Ports) ?? {};
  const lines: string[] = [];
  if (want !== undefined && want !== '') {
    const slash = want.indexOf('/');
    const port = slash < 0 ? want : want.slice(0, slash);
    const proto = (slash < 0 ? '' : want.slice(slash + 1)) || 'tcp';
    if (!/^\d+$/.test(port)) throw new StatusError(1, `Error: invalid port (${port}): strconv.ParseUint: parsing ${JSON.stringify(port)}: invalid syntax`);
    if (Number(port) > 65535) throw new StatusError(1, `Error: invalid port (${port}): strconv.ParseUint: parsing ${JSON.stringify(port)}: value out of range`);
    const bindings = ports[`${port}/${proto}`];
    if (!bindings || bindings.length === 0) throw new StatusError(1, `Error: No public port '${want}' published for ${container}`);
    for (const b of bindings) lines.push(joinHostPort(b.HostIp ?? '', b.HostPort ?? ''));
  } else {
    for (const [from, bindings] of Object.entries(ports)) {
      for (const b of bindings ?? []) lines.push(`${from} -> ${joinHostPort(b.HostIp ?? '', b.HostPort ?? '')}`);
    }
  }
  lines.sort(naturalCompare);
  if (lines.length) ctx.out(lines.join('\n') + '\n');
  return 0;
}
