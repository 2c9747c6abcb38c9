// berth CLI entry: global flags, command lookup in the command table (table.ts; modules load lazily), docker's
// help/usage/error texts and exit codes. The Bun-built executable (bin.ts) and the Node launcher (bin/berth-node)
// both call main(argv) with the arguments after the program name.
import {
  BIN, VERSION, CommandSpec, Parsed, StatusError, checkArgs, commandHelp, flagDefs, flagError, flagUsages, groupHelp,
  parseFlags, termWidth, usageError,
} from './command';
import type { Cmd, Ctx } from './cmd';
import { COMMON, GROUPS, MODULES, OTHERS, type Entry, type Group } from './table';
import { handOffToNode, onBun } from './node-handoff';
import { drained, write } from './stdio';
import type { Client } from '../client';

export { VERSION };

const GLOBAL_FLAGS = flagDefs([
  ['', 'config', 'string', 'Location of client config files', '"/root/.docker"', 'hidden'],
  ['c', 'context', 'string', 'Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "docker context use")'],
  ['D', 'debug', 'bool', 'Enable debug mode'],
  ['H', 'host', 'list', 'Daemon socket to connect to'],
  ['l', 'log-level', 'string', 'Set the logging level ("debug", "info", "warn", "error", "fatal")', '"info"'],
  ['v', 'version', 'bool', 'Print version information and quit'],
]);

const ROOT_SPEC: CommandSpec = { path: '', use: '[OPTIONS] COMMAND', short: 'A self-sufficient runtime for containers', flags: GLOBAL_FLAGS };

function rootHelp(): string {
  const line = (e: { name: string; short: string }) => `  ${(e.name + ' ').padEnd(12)}${e.short}\n`;
  let out = `Usage:  ${BIN} [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n\nCommon Commands:\n`;
  for (const e of COMMON) out += line(e);
  out += '\nManagement Commands:\n';
  for (const g of GROUPS) out += line(g);
  out += '\nCommands:\n';
  for (const e of OTHERS) out += `  ${e.name.padEnd(11)} ${e.short}\n`;
  out += `\nGlobal Options:\n${flagUsages(GLOBAL_FLAGS, termWidth() - 1).replace(/\s+$/, '')}\n`;
  out += `\nRun '${BIN} COMMAND --help' for more information on a command.\n`;
  return out;
}

function groupHelpText(g: Group): string {
  return groupHelp(g.name, g.short, g.subs);
}

interface Found {
  /** the command's table entry and full path ("ps", "container ls") */
  entry?: Entry;
  id?: string;
  group?: Group;
  rest: string[];
  unknown?: string;
}

/** Finds the command for argv (after global flags): its table entry and its remaining args. */
function lookup(args: string[]): Found {
  const name = args[0];
  const top = COMMON.find((e) => e.name === name) ?? OTHERS.find((e) => e.name === name);
  if (top) return { entry: top, id: top.name, rest: args.slice(1) };
  const g = GROUPS.find((x) => x.name === name);
  if (g) {
    const sub = args[1];
    if (sub === undefined || sub.startsWith('-')) return { group: g, rest: args.slice(1) };
    const e = g.subs.find((s) => s.name === sub || s.aliases?.includes(sub));
    if (!e) return { group: g, rest: args.slice(1), unknown: sub };
    return { entry: e, id: `${g.name} ${e.name}`, rest: args.slice(2) };
  }
  return { rest: args, unknown: name };
}

const load = (f: Found): Cmd => MODULES[f.entry!.mod]()(f.id!);

function makeCtx(host: string, debug: boolean): Ctx {
  let client: Client | undefined;
  return {
    host,
    debug,
    client() {
      if (!client) {
        const { Client: C } = require('../client') as typeof import('../client');
        client = new C(host);
        clients.push(client);
      }
      return client;
    },
    out: (s) => write(1, s),
    err: (s) => write(2, s),
  };
}

const clients: Client[] = [];

async function dispatch(argv: string[]): Promise<number> {
  // global flags stop at the command name
  let g: Parsed;
  try {
    g = parseFlags({ ...ROOT_SPEC, noInterspersed: true }, argv);
  } catch (err) {
    throw new StatusError(125, `${(err as Error).message}\n\nUsage:  ${BIN} [OPTIONS] COMMAND\n\nRun '${BIN} --help' for more information`);
  }
  if (g.bool('version')) {
    write(1, `berth version ${VERSION}\n`);
    return 0;
  }
  const hosts = g.list('host');
  if (hosts.length > 1) throw new StatusError(1, 'Specify only one -H');
  const context = g.str('context') || process.env.BERTH_CONTEXT || process.env.DOCKER_CONTEXT || '';
  if (context && context !== 'default') throw new StatusError(1, `context "${context}" does not exist`);
  const args = g.args;
  if (args.length === 0) {
    if (g.help) { write(1, rootHelp()); return 0; }
    write(2, rootHelp());
    return 0;
  }
  if (args[0] === 'help') return help(args.slice(1));

  const found = lookup(args);
  if (!found.entry) {
    if (found.group) {
      if (found.unknown) {
        throw new StatusError(1, `${BIN}: unknown command: ${BIN} ${found.group.name} ${found.unknown}\n\nUsage:  ${BIN} ${found.group.name}\n\nRun '${BIN} ${found.group.name} --help' for more information`);
      }
      const rest = found.rest;
      if (rest.includes('--help') || rest.includes('-h')) { write(1, groupHelpText(found.group)); return 0; }
      if (rest.length > 0) {
        const flag = rest[0];
        const msg = flag.startsWith('--') ? `unknown flag: ${flag.split('=')[0]}` : `unknown shorthand flag: '${flag[1]}' in ${flag}`;
        throw new StatusError(125, `${msg}\n\nUsage:  ${BIN} ${found.group.name}\n\nRun '${BIN} ${found.group.name} --help' for more information`);
      }
      write(2, groupHelpText(found.group));
      return 0;
    }
    throw new StatusError(1, `${BIN}: unknown command: ${BIN} ${found.unknown}\n\nRun '${BIN} --help' for more information`);
  }
  const cmd = load(found);
  let p: Parsed;
  try {
    p = parseFlags(cmd.spec, found.rest, { validators: cmd.validators });
  } catch (err) {
    throw flagError(cmd.spec, (err as Error).message);
  }
  if (p.help) { write(1, commandHelp(cmd.spec)); return 0; }
  checkArgs(cmd.spec, p.args);
  // servers run on Node: the Bun-built executable replaces itself with Node running the same command line
  if (found.entry.node && onBun()) handOffToNode(argv);
  const { resolveHost } = require('../client') as typeof import('../client');
  const ctx = makeCtx(resolveHost(hosts[0]), g.bool('debug'));
  const code = await cmd.run(ctx, p);
  return code ?? 0;
}

function help(topic: string[]): number {
  if (topic.length === 0) { write(1, rootHelp()); return 0; }
  const found = lookup(topic);
  if (found.entry && found.rest.length === 0) { write(1, commandHelp(load(found).spec)); return 0; }
  if (found.group && !found.unknown && found.rest.length === 0) { write(1, groupHelpText(found.group)); return 0; }
  throw new StatusError(1, `unknown help topic: ${topic.join(' ')}`);
}

/** Flushes stdout/stderr, then exits (keep-alive sockets and stdin must not hold the process). */
export function exit(code: number): void {
  for (const c of clients) c.close();
  drained().then(() => process.exit(code));
}

/** Prints an error the way docker's main does and returns the exit status. */
export function reportError(err: unknown): number {
  // by name too: the compose bundle (dist/compose.js) throws its own copy of the class
  if (err instanceof StatusError || (err instanceof Error && err.name === 'StatusError' && typeof (err as StatusError).status === 'number')) {
    if (err.message) write(2, err.message + '\n');
    return (err as StatusError).status || 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (msg) write(2, msg + '\n');
  return 1;
}

export function main(argv: string[]): void {
  if (argv[0] === 'daemon' && onBun()) {
    // `berth daemon` runs on Node (bin/berth-node loads the daemon bundle); on Node it never gets here
    try { handOffToNode(argv); } catch (err) { exit(reportError(err)); }
    return;
  }
  if (argv[0] === 'compose' && onBun()) {
    // as bin/berth-node does on Node: the compose bundle straight away (its main parses, runs and exits), not
    // through the CLI's dispatch; `berth -H … compose` goes through dispatch and commands/compose.ts
    const { loadComposeMain } = require('./commands/compose') as typeof import('./commands/compose');
    try { loadComposeMain().main(argv.slice(1)); } catch (err) { exit(reportError(err)); }
    return;
  }
  dispatch(argv).then(exit, (err) => exit(reportError(err)));
}

export { usageError };

// `node dist/cli.js …` runs the CLI directly (bin/berth-node requires the bundle and calls main itself).
if (require.main === module) main(process.argv.slice(2));
