// berth CLI entry: global flags, command lookup (lazy per command module), docker's help/usage/error texts
// and exit codes. bin/berth calls main(argv) with process.argv.slice(2).
import {
  BIN, VERSION, CommandSpec, Parsed, StatusError, checkArgs, commandHelp, flagDefs, flagError, flagUsages, groupHelp,
  parseFlags, termWidth, usageError, Validator,
} from './command';
import type { Client } from '../client';

export { VERSION };

/** What a command implementation gets. */
export interface Ctx {
  client(): Client;
  host: string;
  debug: boolean;
  out(s: string): void;
  err(s: string): void;
}

/** A command: its spec (flags, usage) and its implementation. */
export interface Cmd {
  spec: CommandSpec;
  validators?: Record<string, Validator>;
  run(ctx: Ctx, p: Parsed): Promise<number | void>;
}

type Loader = (id: string) => Cmd;

// Command modules are required lazily: `berth ps` evaluates only the ps module.
const mods: Record<string, () => Loader> = {
  container: () => require('./commands/container').command,
  run: () => require('./commands/run').command,
  stream: () => require('./commands/stream').command,
  ps: () => require('./commands/ps').command,
  logs: () => require('./commands/logs').command,
  image: () => require('./commands/image').command,
  distribution: () => require('./commands/distribution').command,
  system: () => require('./commands/system').command,
  registry: () => require('./commands/registry').command,
  rootless: () => require('./commands/rootless').command,
  du: () => require('./commands/disk-usage').command,
  prune: () => require('./commands/prune').command,
  events: () => require('./commands/events').command,
  network: () => require('./commands/network').command,
  commit: () => require('./commands/commit').command,
  volume: () => require('./commands/volume').command,
  build: () => require('./commands/build').command,
  resources: () => require('./commands/resources').command,
  cp: () => require('./commands/cp').command,
};

interface Entry { name: string; short: string; mod: string; id?: string; aliases?: string[] }

// Top-level commands, in docker's help order and grouping.
const COMMON: Entry[] = [
  { name: 'run', short: 'Create and run a new container from an image', mod: 'run' },
  { name: 'exec', short: 'Execute a command in a running container', mod: 'stream' },
  { name: 'ps', short: 'List containers', mod: 'ps' },
  { name: 'build', short: 'Build an image from a Dockerfile', mod: 'build' },
  { name: 'pull', short: 'Download an image from a registry', mod: 'distribution' },
  { name: 'push', short: 'Upload an image to a registry', mod: 'distribution' },
  { name: 'images', short: 'List images', mod: 'image' },
  { name: 'login', short: 'Authenticate to a registry', mod: 'distribution' },
  { name: 'logout', short: 'Log out from a registry', mod: 'distribution' },
  { name: 'version', short: 'Show the berth version information', mod: 'system' },
  { name: 'info', short: 'Display system-wide information', mod: 'system' },
];
const OTHERS: Entry[] = [
  { name: 'attach', short: 'Attach local standard input, output, and error streams to a running container', mod: 'stream' },
  { name: 'commit', short: "Create a new image from a container's changes", mod: 'commit' },
  { name: 'cp', short: 'Copy files/folders between a container and the local filesystem', mod: 'cp' },
  { name: 'create', short: 'Create a new container', mod: 'run' },
  { name: 'diff', short: "Inspect changes to files or directories on a container's filesystem", mod: 'commit' },
  { name: 'events', short: 'Get real time events from the server', mod: 'events' },
  { name: 'export', short: "Export a container's filesystem as a tar archive", mod: 'cp' },
  { name: 'history', short: 'Show the history of an image', mod: 'image' },
  { name: 'import', short: 'Import the contents from a tarball to create a filesystem image', mod: 'image' },
  { name: 'inspect', short: 'Return low-level information on berth objects', mod: 'system' },
  { name: 'kill', short: 'Kill one or more running containers', mod: 'container' },
  { name: 'load', short: 'Load an image from a tar archive or STDIN', mod: 'image' },
  { name: 'logs', short: 'Fetch the logs of a container', mod: 'logs' },
  { name: 'pause', short: 'Pause all processes within one or more containers', mod: 'container' },
  { name: 'port', short: 'List port mappings or a specific mapping for the container', mod: 'container' },
  { name: 'rename', short: 'Rename a container', mod: 'container' },
  { name: 'restart', short: 'Restart one or more containers', mod: 'container' },
  { name: 'rm', short: 'Remove one or more containers', mod: 'container' },
  { name: 'rmi', short: 'Remove one or more images', mod: 'image' },
  { name: 'save', short: 'Save one or more images to a tar archive (streamed to STDOUT by default)', mod: 'image' },
  { name: 'start', short: 'Start one or more stopped containers', mod: 'stream' },
  { name: 'stats', short: 'Display a live stream of container(s) resource usage statistics', mod: 'resources' },
  { name: 'stop', short: 'Stop one or more running containers', mod: 'container' },
  { name: 'tag', short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', mod: 'image' },
  { name: 'top', short: 'Display the running processes of a container', mod: 'container' },
  { name: 'unpause', short: 'Unpause all processes within one or more containers', mod: 'container' },
  { name: 'update', short: 'Update configuration of one or more containers', mod: 'resources' },
  { name: 'wait', short: 'Block until one or more containers stop, then print their exit codes', mod: 'container' },
];

interface Group { name: string; short: string; subs: Entry[] }
const GROUPS: Group[] = [
  {
    name: 'container', short: 'Manage containers', subs: [
      { name: 'attach', short: 'Attach local standard input, output, and error streams to a running container', mod: 'stream' },
      { name: 'commit', short: "Create a new image from a container's changes", mod: 'commit' },
      { name: 'cp', short: 'Copy files/folders between a container and the local filesystem', mod: 'cp' },
      { name: 'create', short: 'Create a new container', mod: 'run' },
      { name: 'diff', short: "Inspect changes to files or directories on a container's filesystem", mod: 'commit' },
      { name: 'exec', short: 'Execute a command in a running container', mod: 'stream' },
      { name: 'export', short: "Export a container's filesystem as a tar archive", mod: 'cp' },
      { name: 'inspect', short: 'Display detailed information on one or more containers', mod: 'system' },
      { name: 'kill', short: 'Kill one or more running containers', mod: 'container' },
      { name: 'logs', short: 'Fetch the logs of a container', mod: 'logs' },
      { name: 'ls', short: 'List containers', mod: 'ps', aliases: ['ps', 'list'] },
      { name: 'pause', short: 'Pause all processes within one or more containers', mod: 'container' },
      { name: 'port', short: 'List port mappings or a specific mapping for the container', mod: 'container' },
      { name: 'prune', short: 'Remove all stopped containers', mod: 'prune' },
      { name: 'rename', short: 'Rename a container', mod: 'container' },
      { name: 'restart', short: 'Restart one or more containers', mod: 'container' },
      { name: 'rm', short: 'Remove one or more containers', mod: 'container', aliases: ['remove'] },
      { name: 'run', short: 'Create and run a new container from an image', mod: 'run' },
      { name: 'start', short: 'Start one or more stopped containers', mod: 'stream' },
      { name: 'stats', short: 'Display a live stream of container(s) resource usage statistics', mod: 'resources' },
      { name: 'stop', short: 'Stop one or more running containers', mod: 'container' },
      { name: 'top', short: 'Display the running processes of a container', mod: 'container' },
      { name: 'unpause', short: 'Unpause all processes within one or more containers', mod: 'container' },
      { name: 'update', short: 'Update configuration of one or more containers', mod: 'resources' },
      { name: 'wait', short: 'Block until one or more containers stop, then print their exit codes', mod: 'container' },
    ],
  },
  {
    name: 'image', short: 'Manage images', subs: [
      { name: 'build', short: 'Build an image from a Dockerfile', mod: 'build' },
      { name: 'history', short: 'Show the history of an image', mod: 'image' },
      { name: 'import', short: 'Import the contents from a tarball to create a filesystem image', mod: 'image' },
      { name: 'inspect', short: 'Display detailed information on one or more images', mod: 'system' },
      { name: 'load', short: 'Load an image from a tar archive or STDIN', mod: 'image' },
      { name: 'ls', short: 'List images', mod: 'image', aliases: ['list'] },
      { name: 'prune', short: 'Remove unused images', mod: 'image' },
      { name: 'pull', short: 'Download an image from a registry', mod: 'distribution' },
      { name: 'push', short: 'Upload an image to a registry', mod: 'distribution' },
      { name: 'rm', short: 'Remove one or more images', mod: 'image', aliases: ['rmi', 'remove'] },
      { name: 'save', short: 'Save one or more images to a tar archive (streamed to STDOUT by default)', mod: 'image' },
      { name: 'tag', short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', mod: 'image' },
    ],
  },
  {
    name: 'network', short: 'Manage networks', subs: [
      { name: 'connect', short: 'Connect a container to a network', mod: 'network' },
      { name: 'create', short: 'Create a network', mod: 'network' },
      { name: 'disconnect', short: 'Disconnect a container from a network', mod: 'network' },
      { name: 'inspect', short: 'Display detailed information on one or more networks', mod: 'network' },
      { name: 'ls', short: 'List networks', mod: 'network', aliases: ['list'] },
      { name: 'prune', short: 'Remove all unused networks', mod: 'network' },
      { name: 'rm', short: 'Remove one or more networks', mod: 'network', aliases: ['remove'] },
    ],
  },
  {
    name: 'registry', short: 'Run a local image registry', subs: [
      { name: 'serve', short: 'Run an OCI distribution registry (a local Docker Hub) in the foreground', mod: 'registry' },
    ],
  },
  {
    name: 'rootless', short: 'Run berth as an ordinary user', subs: [
      { name: 'setup', short: 'Prepare this host for USER\'s rootless daemon (packages, subordinate ids, devices); run as root', mod: 'rootless' },
    ],
  },
  {
    name: 'builder', short: 'Manage builds', subs: [
      { name: 'build', short: 'Build an image from a Dockerfile', mod: 'build' },
      { name: 'prune', short: 'Remove build cache', mod: 'build' },
    ],
  },
  {
    name: 'system', short: 'Manage berth', subs: [
      { name: 'df', short: 'Show berth disk usage', mod: 'du' },
      { name: 'events', short: 'Get real time events from the server', mod: 'events' },
      { name: 'info', short: 'Display system-wide information', mod: 'system' },
      { name: 'prune', short: 'Remove unused data', mod: 'prune' },
    ],
  },
  {
    name: 'volume', short: 'Manage volumes', subs: [
      { name: 'create', short: 'Create a volume', mod: 'volume' },
      { name: 'inspect', short: 'Display detailed information on one or more volumes', mod: 'volume' },
      { name: 'ls', short: 'List volumes', mod: 'volume', aliases: ['list'] },
      { name: 'prune', short: 'Remove unused local volumes', mod: 'volume' },
      { name: 'rm', short: 'Remove one or more volumes', mod: 'volume', aliases: ['remove'] },
    ],
  },
];

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

/** Finds the command for argv (after global flags): returns the loaded command and its remaining args. */
function lookup(args: string[]): { cmd?: Cmd; group?: Group; rest: string[]; unknown?: string } {
  const name = args[0];
  const top = [...COMMON, ...OTHERS].find((e) => e.name === name);
  if (top) return { cmd: mods[top.mod]()(top.name), rest: args.slice(1) };
  const g = GROUPS.find((x) => x.name === name);
  if (g) {
    const sub = args[1];
    if (sub === undefined || sub.startsWith('-')) return { group: g, rest: args.slice(1) };
    const e = g.subs.find((s) => s.name === sub || s.aliases?.includes(sub));
    if (!e) return { group: g, rest: args.slice(1), unknown: sub };
    return { cmd: mods[e.mod]()(`${g.name} ${e.name}`), rest: args.slice(2) };
  }
  return { rest: args, unknown: name };
}

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
    out: (s) => { process.stdout.write(s); },
    err: (s) => { process.stderr.write(s); },
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
    process.stdout.write(`berth version ${VERSION}\n`);
    return 0;
  }
  const hosts = g.list('host');
  if (hosts.length > 1) throw new StatusError(1, 'Specify only one -H');
  const context = g.str('context') || process.env.BERTH_CONTEXT || process.env.DOCKER_CONTEXT || '';
  if (context && context !== 'default') throw new StatusError(1, `context "${context}" does not exist`);
  const args = g.args;
  if (args.length === 0) {
    if (g.help) { process.stdout.write(rootHelp()); return 0; }
    process.stderr.write(rootHelp());
    return 0;
  }
  if (args[0] === 'help') return help(args.slice(1));

  const found = lookup(args);
  if (!found.cmd) {
    if (found.group) {
      if (found.unknown) {
        throw new StatusError(1, `${BIN}: unknown command: ${BIN} ${found.group.name} ${found.unknown}\n\nUsage:  ${BIN} ${found.group.name}\n\nRun '${BIN} ${found.group.name} --help' for more information`);
      }
      const rest = found.rest;
      if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(groupHelpText(found.group)); return 0; }
      if (rest.length > 0) {
        const flag = rest[0];
        const msg = flag.startsWith('--') ? `unknown flag: ${flag.split('=')[0]}` : `unknown shorthand flag: '${flag[1]}' in ${flag}`;
        throw new StatusError(125, `${msg}\n\nUsage:  ${BIN} ${found.group.name}\n\nRun '${BIN} ${found.group.name} --help' for more information`);
      }
      process.stderr.write(groupHelpText(found.group));
      return 0;
    }
    throw new StatusError(1, `${BIN}: unknown command: ${BIN} ${found.unknown}\n\nRun '${BIN} --help' for more information`);
  }
  const cmd = found.cmd;
  let p: Parsed;
  try {
    p = parseFlags(cmd.spec, found.rest, { validators: cmd.validators });
  } catch (err) {
    throw flagError(cmd.spec, (err as Error).message);
  }
  if (p.help) { process.stdout.write(commandHelp(cmd.spec)); return 0; }
  checkArgs(cmd.spec, p.args);
  const { resolveHost } = require('../client') as typeof import('../client');
  const ctx = makeCtx(resolveHost(hosts[0]), g.bool('debug'));
  const code = await cmd.run(ctx, p);
  return code ?? 0;
}

function help(topic: string[]): number {
  if (topic.length === 0) { process.stdout.write(rootHelp()); return 0; }
  const found = lookup(topic);
  if (found.cmd && found.rest.length === 0) { process.stdout.write(commandHelp(found.cmd.spec)); return 0; }
  if (found.group && !found.unknown && found.rest.length === 0) { process.stdout.write(groupHelpText(found.group)); return 0; }
  throw new StatusError(1, `unknown help topic: ${topic.join(' ')}`);
}

/** Flushes stdout/stderr, then exits (keep-alive sockets and stdin must not hold the process). */
export function exit(code: number): void {
  for (const c of clients) c.close();
  let pending = 0;
  const done = () => { if (--pending <= 0) process.exit(code); };
  for (const s of [process.stdout, process.stderr]) {
    if (s.writableLength > 0) {
      pending++;
      s.once('drain', done);
    }
  }
  if (pending === 0) process.exit(code);
}

/** Prints an error the way docker's main does and returns the exit status. */
export function reportError(err: unknown): number {
  if (err instanceof StatusError) {
    if (err.message) process.stderr.write(err.message + '\n');
    return err.status || 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (msg) process.stderr.write(msg + '\n');
  return 1;
}

export function main(argv: string[]): void {
  // A closed stdout pipe (`berth logs x | head -1`) ends the CLI quietly, like Go's SIGPIPE death.
  const onPipeError = (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(141); throw err; };
  process.stdout.on('error', onPipeError);
  dispatch(argv).then(exit, (err) => exit(reportError(err)));
}

export { usageError };

// `node dist/cli.js …` runs the CLI directly (bin/berth requires the bundle and calls main itself).
if (require.main === module) main(process.argv.slice(2));
