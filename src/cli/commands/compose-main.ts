// `berth compose …`: the global compose flags (-f, -p, --project-directory, --env-file, --profile, --progress,
// --ansi), then one subcommand with Docker Compose v2's flags, mapped onto src/compose. This file only parses,
// wires and renders; loading, planning and the API work are src/compose's. Bundled apart (dist/compose.js) so
// the YAML parser and the schema validator are loaded by `compose` alone.
import * as path from 'path';
import { CommandSpec, Parsed, StatusError, flagDefs, parseFlags, commandHelp, checkArgs, FlagTuple } from '../command';
import { Client } from '../../client';
import * as compose from '../../compose';
import type { ComposeEnv, Project, ProgressMode } from '../../compose';
import { writeFormatted, FormatError } from '../format/formatter';
import { ComposeContainerContext, composeContainerHeaders, composePsFormat, prettyTable, imagesTable, ImageRow } from '../format/compose';
import { tabulate } from '../format/tabwriter';

const NAME = 'compose';

const GLOBAL: FlagTuple[] = [
  ['', 'all-resources', 'bool', 'Include all resources, even those not used by services'],
  ['', 'ansi', 'string', 'Control when to print ANSI control characters ("never"|"always"|"auto")', '"auto"'],
  ['', 'compatibility', 'bool', 'Run compose in backward compatibility mode'],
  ['', 'dry-run', 'bool', 'Execute command in dry run mode'],
  ['', 'env-file', 'stringArray', 'Specify an alternate environment file'],
  ['f', 'file', 'stringArray', 'Compose configuration files'],
  ['', 'parallel', 'int', 'Control max parallelism, -1 for unlimited', '-1'],
  ['', 'profile', 'stringArray', 'Specify a profile to enable'],
  ['', 'progress', 'string', 'Set type of progress output (auto, tty, plain, json, quiet)'],
  ['', 'project-directory', 'string', 'Specify an alternate working directory\n(default: the path of the, first specified, Compose file)'],
  ['p', 'project-name', 'string', 'Project name'],
  ['v', 'version', 'bool', 'Show the Docker Compose version information', '', 'hidden'],
];

interface Sub { name: string; short: string; use: string; flags: FlagTuple[]; args?: CommandSpec['args']; aliases?: string[] }

const SUBS: Sub[] = [
  { name: 'attach', short: "Attach local standard input, output, and error streams to a service's running container", use: '[OPTIONS] SERVICE', args: { exact: 1 }, flags: [
    ['', 'detach-keys', 'string', 'Override the key sequence for detaching from a container.'],
    ['', 'index', 'int', 'index of the container if service has multiple replicas.'],
    ['', 'no-stdin', 'bool', 'Do not attach STDIN'],
    ['', 'sig-proxy', 'bool', 'Proxy all received signals to the process', 'true'],
  ] },
  { name: 'build', short: 'Build or rebuild services', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'build-arg', 'stringArray', 'Set build-time variables for services'],
    ['', 'no-cache', 'bool', 'Do not use cache when building the image'],
    ['', 'pull', 'bool', 'Always attempt to pull a newer version of the image'],
    ['', 'push', 'bool', 'Push service images'],
    ['q', 'quiet', 'bool', "Don't print anything to STDOUT"],
    ['', 'with-dependencies', 'bool', 'Also build dependencies (transitively)'],
  ] },
  { name: 'config', short: 'Parse, resolve and render compose file in canonical format', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'format', 'string', 'Format the output. Values: [yaml | json]', '"yaml"'],
    ['', 'hash', 'string', 'Print the service config hash, one per line.'],
    ['', 'images', 'bool', 'Print the image names, one per line.'],
    ['', 'no-consistency', 'bool', "Don't check model consistency - warning: may produce invalid Compose output"],
    ['', 'no-interpolate', 'bool', "Don't interpolate environment variables"],
    ['', 'no-normalize', 'bool', "Don't normalize compose model"],
    ['o', 'output', 'string', 'Save to file (default to stdout)'],
    ['', 'profiles', 'bool', 'Print the profile names, one per line.'],
    ['q', 'quiet', 'bool', 'Only validate the configuration, don\'t print anything'],
    ['', 'services', 'bool', 'Print the service names, one per line.'],
    ['', 'volumes', 'bool', 'Print the volume names, one per line.'],
    ['', 'networks', 'bool', 'Print the network names, one per line.'],
  ] },
  { name: 'cp', short: 'Copy files/folders between a service container and the local filesystem', use: '[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tberth compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH', args: { exact: 2 }, flags: [
    ['a', 'archive', 'bool', 'Archive mode (copy all uid/gid information)'],
    ['L', 'follow-link', 'bool', 'Always follow symbol link in SRC_PATH'],
    ['', 'index', 'int', 'Index of the container if service has multiple replicas'],
  ] },
  { name: 'create', short: 'Creates containers for a service', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'build', 'bool', 'Build images before starting containers'],
    ['', 'force-recreate', 'bool', "Recreate containers even if their configuration and image haven't changed"],
    ['', 'no-build', 'bool', "Don't build an image, even if it's policy"],
    ['', 'no-recreate', 'bool', "If containers already exist, don't recreate them. Incompatible with --force-recreate."],
    ['', 'pull', 'string', 'Pull image before running ("always"|"missing"|"never"|"build")', '"policy"'],
    ['', 'quiet-pull', 'bool', 'Pull without printing progress information'],
    ['', 'remove-orphans', 'bool', 'Remove containers for services not defined in the Compose file'],
    ['', 'scale', 'stringArray', 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.'],
    ['y', 'yes', 'bool', 'Assume "yes" as answer to all prompts and run non-interactively'],
  ] },
  { name: 'down', short: 'Stop and remove containers, networks', use: '[OPTIONS] [SERVICES]', flags: [
    ['', 'remove-orphans', 'bool', 'Remove containers for services not defined in the Compose file'],
    ['', 'rmi', 'string', 'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")'],
    ['t', 'timeout', 'int', 'Specify a shutdown timeout in seconds'],
    ['v', 'volumes', 'bool', 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers'],
  ] },
  { name: 'events', short: 'Receive real time events from containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'json', 'bool', 'Output events as a stream of json objects'],
    ['', 'since', 'string', 'Show all events created since timestamp'],
    ['', 'until', 'string', 'Stream events until this timestamp'],
  ] },
  { name: 'exec', short: 'Execute a command in a running container', use: '[OPTIONS] SERVICE COMMAND [ARGS...]', args: { min: 2 }, flags: [
    ['d', 'detach', 'bool', 'Detached mode: Run command in the background'],
    ['e', 'env', 'stringArray', 'Set environment variables'],
    ['', 'index', 'int', 'Index of the container if service has multiple replicas'],
    ['T', 'no-TTY', 'bool', 'Disable pseudo-TTY allocation. By default `docker compose exec` allocates a TTY.'],
    ['', 'privileged', 'bool', 'Give extended privileges to the process'],
    ['u', 'user', 'string', 'Run the command as this user'],
    ['w', 'workdir', 'string', 'Path to workdir directory for this command'],
    ['i', 'interactive', 'bool', 'Keep STDIN open even if not attached', 'true', 'hidden'],
    ['t', 'tty', 'bool', 'Allocate a pseudo-TTY', 'true', 'hidden'],
  ] },
  { name: 'images', short: 'List images used by the created containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'format', 'string', 'Format the output. Values: [table | json]', '"table"'],
    ['q', 'quiet', 'bool', 'Only display IDs'],
  ] },
  { name: 'kill', short: 'Force stop service containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'remove-orphans', 'bool', 'Remove containers for services not defined in the Compose file'],
    ['s', 'signal', 'string', 'SIGNAL to send to the container', '"SIGKILL"'],
  ] },
  { name: 'logs', short: 'View output from containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['f', 'follow', 'bool', 'Follow log output'],
    ['', 'index', 'int', 'index of the container if service has multiple replicas'],
    ['', 'no-color', 'bool', 'Produce monochrome output'],
    ['', 'no-log-prefix', 'bool', "Don't print prefix in logs"],
    ['', 'since', 'string', 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)'],
    ['n', 'tail', 'string', 'Number of lines to show from the end of the logs for each container', '"all"'],
    ['t', 'timestamps', 'bool', 'Show timestamps'],
    ['', 'until', 'string', 'Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)'],
  ] },
  { name: 'ls', short: 'List running compose projects', use: '[OPTIONS]', flags: [
    ['a', 'all', 'bool', 'Show all stopped Compose projects'],
    ['', 'filter', 'stringArray', 'Filter output based on conditions provided'],
    ['', 'format', 'string', 'Format the output. Values: [table | json]', '"table"'],
    ['q', 'quiet', 'bool', 'Only display project names'],
  ] },
  { name: 'pause', short: 'Pause services', use: '[SERVICE...]', flags: [] },
  { name: 'port', short: 'Print the public port for a port binding', use: '[OPTIONS] SERVICE PRIVATE_PORT', args: { exact: 2 }, flags: [
    ['', 'index', 'int', 'Index of the container if service has multiple replicas'],
    ['', 'protocol', 'string', 'tcp or udp', '"tcp"'],
  ] },
  { name: 'ps', short: 'List containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['a', 'all', 'bool', 'Show all stopped containers (including those created by the run command)'],
    ['', 'filter', 'string', 'Filter services by a property (supported filters: status)'],
    ['', 'format', 'string', 'Format output using a custom template:\n\'table\':            Print output in table format with column headers (default)\n\'table TEMPLATE\':   Print output in table format using the given Go template\n\'json\':             Print in JSON format\n\'TEMPLATE\':         Print output using the given Go template.', '"table"'],
    ['', 'no-trunc', 'bool', "Don't truncate output"],
    ['', 'orphans', 'bool', 'Include orphaned services (not declared by project)', 'true'],
    ['q', 'quiet', 'bool', 'Only display IDs'],
    ['', 'services', 'bool', 'Display services'],
    ['', 'status', 'stringArray', 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]'],
  ] },
  { name: 'pull', short: 'Pull service images', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'ignore-buildable', 'bool', 'Ignore images that can be built'],
    ['', 'ignore-pull-failures', 'bool', 'Pull what it can and ignores images with pull failures'],
    ['', 'include-deps', 'bool', 'Also pull services declared as dependencies'],
    ['', 'policy', 'string', 'Apply pull policy ("missing"|"always")'],
    ['q', 'quiet', 'bool', 'Pull without printing progress information'],
  ] },
  { name: 'push', short: 'Push service images', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'ignore-push-failures', 'bool', 'Push what it can and ignores images with push failures'],
    ['', 'include-deps', 'bool', 'Also push images of services declared as dependencies'],
    ['q', 'quiet', 'bool', 'Push without printing progress information'],
  ] },
  { name: 'restart', short: 'Restart service containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'no-deps', 'bool', "Don't restart dependent services"],
    ['t', 'timeout', 'int', 'Specify a shutdown timeout in seconds'],
  ] },
  { name: 'rm', short: 'Removes stopped service containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['f', 'force', 'bool', "Don't ask to confirm removal"],
    ['s', 'stop', 'bool', 'Stop the containers, if required, before removing'],
    ['v', 'volumes', 'bool', 'Remove any anonymous volumes attached to containers'],
  ] },
  { name: 'run', short: 'Run a one-off command on a service', use: '[OPTIONS] SERVICE [COMMAND] [ARGS...]', args: { min: 1 }, flags: [
    ['', 'build', 'bool', 'Build image before starting container'],
    ['', 'cap-add', 'list', 'Add Linux capabilities'],
    ['', 'cap-drop', 'list', 'Drop Linux capabilities'],
    ['d', 'detach', 'bool', 'Run container in background and print container ID'],
    ['', 'entrypoint', 'string', 'Override the entrypoint of the image'],
    ['e', 'env', 'stringArray', 'Set environment variables'],
    ['i', 'interactive', 'bool', 'Keep STDIN open even if not attached', 'true'],
    ['l', 'label', 'stringArray', 'Add or override a label'],
    ['', 'name', 'string', 'Assign a name to the container'],
    ['T', 'no-TTY', 'bool', 'Disable pseudo-TTY allocation (default: auto-detected)'],
    ['', 'no-deps', 'bool', "Don't start linked services"],
    ['p', 'publish', 'stringArray', "Publish a container's port(s) to the host"],
    ['', 'quiet-pull', 'bool', 'Pull without printing progress information'],
    ['', 'remove-orphans', 'bool', 'Remove containers for services not defined in the Compose file'],
    ['', 'rm', 'bool', 'Automatically remove the container when it exits'],
    ['P', 'service-ports', 'bool', "Run command with all service's ports enabled and mapped to the host"],
    ['', 'use-aliases', 'bool', "Use the service's network useAliases in the network(s) the container connects to"],
    ['u', 'user', 'string', 'Run as specified username or uid'],
    ['v', 'volume', 'stringArray', 'Bind mount a volume'],
    ['w', 'workdir', 'string', 'Working directory inside the container'],
    ['t', 'tty', 'bool', 'Allocate a pseudo-TTY', 'true', 'hidden'],
  ] },
  { name: 'scale', short: 'Scale services ', use: '[SERVICE=REPLICAS...]', args: { min: 1 }, flags: [
    ['', 'no-deps', 'bool', "Don't start linked services"],
  ] },
  { name: 'start', short: 'Start services', use: '[SERVICE...]', flags: [] },
  { name: 'stats', short: 'Display a live stream of container(s) resource usage statistics', use: '[OPTIONS] [SERVICE]', flags: [
    ['a', 'all', 'bool', 'Show all containers (default shows just running)'],
    ['', 'format', 'string', 'Format output using a custom template'],
    ['', 'no-stream', 'bool', 'Disable streaming stats and only pull the first result'],
    ['', 'no-trunc', 'bool', "Don't truncate output"],
  ] },
  { name: 'stop', short: 'Stop services', use: '[OPTIONS] [SERVICE...]', flags: [
    ['t', 'timeout', 'int', 'Specify a shutdown timeout in seconds'],
  ] },
  { name: 'top', short: 'Display the running processes', use: '[SERVICES...]', flags: [] },
  { name: 'unpause', short: 'Unpause services', use: '[SERVICE...]', flags: [] },
  { name: 'up', short: 'Create and start containers', use: '[OPTIONS] [SERVICE...]', flags: [
    ['', 'abort-on-container-exit', 'bool', 'Stops all containers if any container was stopped. Incompatible with -d'],
    ['', 'abort-on-container-failure', 'bool', 'Stops all containers if any container exited with failure. Incompatible with -d'],
    ['', 'always-recreate-deps', 'bool', 'Recreate dependent containers. Incompatible with --no-recreate.'],
    ['', 'attach', 'stringArray', 'Restrict attaching to the specified services. Incompatible with --attach-dependencies.'],
    ['', 'attach-dependencies', 'bool', 'Automatically attach to log output of dependent services'],
    ['', 'build', 'bool', 'Build images before starting containers'],
    ['d', 'detach', 'bool', 'Detached mode: Run containers in the background'],
    ['', 'exit-code-from', 'string', 'Return the exit code of the selected service container. Implies --abort-on-container-exit'],
    ['', 'force-recreate', 'bool', "Recreate containers even if their configuration and image haven't changed"],
    ['', 'no-attach', 'stringArray', 'Do not attach (stream logs) to the specified services'],
    ['', 'no-build', 'bool', "Don't build an image, even if it's policy"],
    ['', 'no-color', 'bool', 'Produce monochrome output'],
    ['', 'no-deps', 'bool', "Don't start linked services"],
    ['', 'no-log-prefix', 'bool', "Don't print prefix in logs"],
    ['', 'no-recreate', 'bool', "If containers already exist, don't recreate them. Incompatible with --force-recreate."],
    ['', 'no-start', 'bool', "Don't start the services after creating them"],
    ['', 'pull', 'string', 'Pull image before running ("always"|"missing"|"never")', '"policy"'],
    ['', 'quiet-pull', 'bool', 'Pull without printing progress information'],
    ['', 'remove-orphans', 'bool', 'Remove containers for services not defined in the Compose file'],
    ['V', 'renew-anon-volumes', 'bool', 'Recreate anonymous volumes instead of retrieving data from the previous containers'],
    ['', 'scale', 'stringArray', 'Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.'],
    ['t', 'timeout', 'int', 'Use this timeout in seconds for container shutdown when attached or when containers are already running'],
    ['', 'timestamps', 'bool', 'Show timestamps'],
    ['', 'wait', 'bool', 'Wait for services to be running|healthy. Implies detached mode.'],
    ['', 'wait-timeout', 'int', 'Maximum duration in seconds to wait for the project to be running|healthy'],
    ['y', 'yes', 'bool', 'Assume "yes" as answer to all prompts and run non-interactively'],
  ] },
  { name: 'version', short: 'Show the Docker Compose version information', use: '[OPTIONS]', args: 'none', flags: [
    ['f', 'format', 'string', 'Format the output. Values: [pretty | json]. (Default: pretty)'],
    ['', 'short', 'bool', 'Shows only Compose\'s version number'],
  ] },
  { name: 'wait', short: 'Block until containers of all (or specified) services stop.', use: 'SERVICE [SERVICE...] [OPTIONS]', args: { min: 1 }, flags: [
    ['', 'down-project', 'bool', 'Drops project when the first container stops'],
  ] },
];

const subSpec = (s: Sub): CommandSpec => ({ path: `${NAME} ${s.name}`, use: s.use, short: s.short, flags: flagDefs(s.flags), args: s.args, noInterspersed: s.name === 'exec' || s.name === 'run' });

function rootHelp(): string {
  let out = `Usage:  berth compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Docker\n\nOptions:\n`;
  for (const f of flagDefs(GLOBAL).filter((x) => !x.hidden)) {
    const head = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.type === 'bool' ? '' : f.type.includes('Array') ? ' stringArray' : ` ${f.type}`}`;
    out += `      ${head.padEnd(30)} ${f.usage.split('\n')[0]}${f.def ? ` (default ${f.def})` : ''}\n`;
  }
  out += '\nCommands:\n';
  for (const s of SUBS) out += `  ${s.name.padEnd(11)} ${s.short}\n`;
  out += `\nRun 'berth compose COMMAND --help' for more information on a command.\n`;
  return out;
}

export interface Io { client(): Client; host: string; out(s: string): void; err(s: string): void }

/** Entry from the CLI: `args` is everything after `compose`. */
export async function runCompose(outer: Io, args: string[]): Promise<number> {
  // A client of this bundle's own client module (error classes are compared with instanceof inside compose).
  let client: Client | undefined;
  const io: Io = { ...outer, client: () => (client ??= new Client(outer.host)) };
  try {
    return await runComposeWith(io, args);
  } finally {
    client?.close();
  }
}

async function runComposeWith(io: Io, args: string[]): Promise<number> {
  let g: Parsed;
  try {
    g = parseFlags({ path: NAME, use: '[OPTIONS] COMMAND', short: '', flags: flagDefs(GLOBAL), noInterspersed: true }, args);
  } catch (err) {
    throw new StatusError(1, `${(err as Error).message}`);
  }
  if (g.bool('version')) { io.out(versionText()); return 0; }
  if (g.help || g.args.length === 0) { io.out(rootHelp()); return 0; }
  const [name, ...rest] = g.args;
  const sub = SUBS.find((s) => s.name === name);
  if (!sub) throw new StatusError(1, `unknown docker command: "compose ${name}"`);
  const spec = subSpec(sub);
  let p: Parsed;
  try {
    p = parseFlags(spec, rest);
  } catch (err) {
    throw new StatusError(1, `${(err as Error).message}`);
  }
  if (p.help) { io.out(commandHelp(spec)); return 0; }
  checkArgs(spec, p.args);
  if (g.bool('dry-run')) throw new StatusError(1, 'berth compose does not support --dry-run');
  const progressMode = progressOf(g, io);
  // a daemon older than this client (dockerd 20.10 speaks 1.41) gets requests at its own version
  if (sub.name !== 'config' && sub.name !== 'version' && !process.env.DOCKER_API_VERSION && !process.env.BERTH_API_VERSION) {
    await io.client().negotiateVersion();
  }
  return dispatch(io, g, sub.name, p, progressMode);
}

function progressOf(g: Parsed, io: Io): ProgressMode {
  void io;
  const v = g.str('progress') || process.env.COMPOSE_PROGRESS || (g.str('ansi') === 'never' || process.env.COMPOSE_ANSI === 'never' ? 'plain' : 'auto');
  if (!['auto', 'tty', 'plain', 'json', 'quiet'].includes(v)) throw new StatusError(1, `unsupported --progress value "${v}"`);
  return v as ProgressMode;
}

function versionText(): string { return `berth compose version v${compose.COMPOSE_VERSION}\n`; }

/** Loads the project for a command (subcommands naming services enable them past their profiles). */
function load(io: Io, g: Parsed, enable: string[] = [], extra: Partial<compose.LoadOptions> = {}): Project {
  const warn = (m: string) => io.err(`WARN[0000] ${m}\n`);
  try {
    return compose.loadProject({
      files: g.list('file'), projectDirectory: g.str('project-directory') || undefined, projectName: g.str('project-name') || undefined,
      envFiles: g.list('env-file'), profiles: g.list('profile'), enableServices: enable, warn, ...extra,
    });
  } catch (err) {
    if (err instanceof compose.LoadError) throw new StatusError(1, err.message);
    throw err;
  }
}

/** Commands that only need the project's name (when no file is there, `-p` alone is enough). */
function loadLoose(io: Io, g: Parsed, enable: string[] = []): Project {
  try {
    return load(io, g, enable);
  } catch (err) {
    const name = g.str('project-name') || process.env.COMPOSE_PROJECT_NAME;
    if (name && /no configuration file provided/.test((err as Error).message)) {
      return { name, workingDir: process.cwd(), services: {}, disabled: {}, networks: {}, volumes: {}, secrets: {}, configs: {} };
    }
    throw err;
  }
}

function envFor(io: Io, project: Project, mode: ProgressMode, g: Parsed): ComposeEnv {
  const color = g.str('ansi') === 'always' || (g.str('ansi') !== 'never' && !process.env.NO_COLOR && !!process.stderr.isTTY);
  return {
    client: io.client(),
    project,
    progress: compose.createProgress({ mode, out: process.stderr, color }),
    out: io.out,
    err: io.err,
    tty: !!process.stdout.isTTY,
    packContext: (dir, dockerfile) => (require('./build') as typeof import('./build')).packContext(dir, dockerfile),
    registryAuth: async (ref) => {
      const { parseNormalizedNamed } = require('./reference') as typeof import('./reference');
      const { registryAuthHeader } = require('./registry-auth') as typeof import('./registry-auth');
      try { return await registryAuthHeader(parseNormalizedNamed(ref).domain); } catch { return undefined; }
    },
  };
}

function parseScale(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const m = /^([^=]+)=(\d+)$/.exec(s);
    if (!m) throw new StatusError(1, `invalid scale value: ${s}`);
    out[m[1]] = parseInt(m[2], 10);
  }
  return out;
}

const opt = (p: Parsed, n: string): number | undefined => (p.has(n) ? p.int(n) : undefined);

async function dispatch(io: Io, g: Parsed, name: string, p: Parsed, mode: ProgressMode): Promise<number> {
  const services = p.args;
  const run = async (fn: () => Promise<number | void>): Promise<number> => {
    try {
      return (await fn()) ?? 0;
    } catch (err) {
      if (err instanceof compose.ComposeError) throw new StatusError(err.status, err.message);
      if (err instanceof compose.LoadError) throw new StatusError(1, err.message);
      throw err;
    }
  };
  switch (name) {
    case 'version': {
      if (p.bool('short')) { io.out(`${compose.COMPOSE_VERSION}\n`); return 0; }
      if (p.str('format') === 'json') { io.out(JSON.stringify({ version: `v${compose.COMPOSE_VERSION}` }) + '\n'); return 0; }
      io.out(versionText());
      return 0;
    }
    case 'config': return run(() => config(io, g, p));
    case 'ls': return run(() => ls(io, p));
  }
  const enable = name === 'run' || name === 'exec' ? services.slice(0, 1) : name === 'up' || name === 'create' || name === 'build' || name === 'pull' ? services : [];
  const project = ['down', 'ps', 'logs', 'stop', 'kill', 'rm', 'top', 'images', 'events', 'pause', 'unpause', 'wait', 'port'].includes(name)
    ? loadLoose(io, g, enable) : load(io, g, enable);
  const env = envFor(io, project, mode, g);
  switch (name) {
    case 'up': return run(() => {
      const wait = p.bool('wait');
      return compose.up(env, services, {
        detach: p.bool('detach') || wait, build: p.bool('build'), noBuild: p.bool('no-build'), pull: p.str('pull', 'policy'),
        quietPull: p.bool('quiet-pull'), forceRecreate: p.bool('force-recreate'), noRecreate: p.bool('no-recreate'),
        noDeps: p.bool('no-deps'), scale: parseScale(p.list('scale')), removeOrphans: p.bool('remove-orphans') || process.env.COMPOSE_REMOVE_ORPHANS === 'true',
        renewAnonVolumes: p.bool('renew-anon-volumes'), noStart: p.bool('no-start'), wait, waitTimeout: opt(p, 'wait-timeout'),
        abortOnContainerExit: p.bool('abort-on-container-exit'), abortOnContainerFailure: p.bool('abort-on-container-failure'),
        exitCodeFrom: p.str('exit-code-from') || undefined, attach: p.list('attach'), noAttach: p.list('no-attach'),
        timeout: opt(p, 'timeout'), timestamps: p.bool('timestamps'), noLogPrefix: p.bool('no-log-prefix'),
        alwaysRecreateDeps: p.bool('always-recreate-deps'),
        color: !p.bool('no-color') && !!process.stdout.isTTY && !process.env.NO_COLOR,
        onInterrupt: (handler) => {
          let count = 0;
          const h = () => { if (++count > 1) process.exit(130); handler(); };
          process.on('SIGINT', h);
          process.on('SIGTERM', h);
          return () => { process.off('SIGINT', h); process.off('SIGTERM', h); };
        },
      });
    });
    case 'create': return run(() => compose.create(env, services, {
      build: p.bool('build'), noBuild: p.bool('no-build'), pull: p.str('pull', 'policy'), quietPull: p.bool('quiet-pull'),
      forceRecreate: p.bool('force-recreate'), noRecreate: p.bool('no-recreate'), removeOrphans: p.bool('remove-orphans'), scale: parseScale(p.list('scale')),
    }));
    case 'down': return run(() => {
      const rmi = p.str('rmi');
      if (rmi && rmi !== 'local' && rmi !== 'all') throw new StatusError(1, `invalid value for --rmi: ${rmi}`);
      return compose.down(env, { removeOrphans: p.bool('remove-orphans'), volumes: p.bool('volumes'), rmi: rmi || undefined, timeout: opt(p, 'timeout'), services });
    });
    case 'start': return run(() => compose.act(env, 'start', services));
    case 'stop': return run(() => compose.act(env, 'stop', services, { timeout: opt(p, 'timeout') }));
    case 'restart': return run(() => compose.act(env, 'restart', services, { timeout: opt(p, 'timeout'), noDeps: p.bool('no-deps') }));
    case 'kill': return run(() => compose.act(env, 'kill', services, { signal: p.str('signal', 'SIGKILL') }));
    case 'pause': return run(() => compose.act(env, 'pause', services));
    case 'unpause': return run(() => compose.act(env, 'unpause', services));
    case 'rm': return run(() => compose.rm(env, services, {
      stop: p.bool('stop'), volumes: p.bool('volumes'), out: io.out,
      confirm: async (names) => {
        if (p.bool('force')) return true;
        const { confirm } = require('./util') as typeof import('./util');
        return confirm(io, `Going to remove ${names.join(', ')}\nAre you sure you want to continue?`);
      },
    }));
    case 'scale': return run(() => compose.scale(env, parseScale(services), p.bool('no-deps')));
    case 'wait': return run(() => compose.wait(env, services, p.bool('down-project')));
    case 'ps': return run(() => ps(io, env, p));
    case 'logs': return run(() => logs(env, p));
    case 'build': return run(() => build(env, p));
    case 'pull': return run(() => pull(env, p));
    case 'push': return run(async () => {
      env.progress.start('Running');
      try {
        await Promise.all(compose.selectServices(project, services, !p.bool('include-deps')).map((s) => compose.pushService(env, s, p.bool('ignore-push-failures'))));
      } finally { env.progress.done(); }
    });
    case 'exec': return run(async () => {
      const c = await compose.serviceContainer(env, services[0], opt(p, 'index') ?? 0);
      return compose.exec(env, c.Id, {
        command: services.slice(1), detach: p.bool('detach'), noTty: p.bool('no-TTY') || (p.has('tty') && !p.bool('tty')), env: p.list('env'),
        user: p.str('user') || undefined, workdir: p.str('workdir') || undefined, privileged: p.bool('privileged'), interactive: p.bool('interactive', true),
      });
    });
    case 'run': return run(() => compose.run(env, services[0], {
      command: services.slice(1), entrypoint: p.has('entrypoint') ? p.str('entrypoint') : undefined, env: p.list('env'), labels: p.list('label'),
      name: p.str('name') || undefined, noDeps: p.bool('no-deps'), publish: p.list('publish'), volumes: p.list('volume'),
      user: p.has('user') ? p.str('user') : undefined, workdir: p.has('workdir') ? p.str('workdir') : undefined,
      noTty: p.bool('no-TTY') || (p.has('tty') && !p.bool('tty')), detach: p.bool('detach'), rm: p.bool('rm'), servicePorts: p.bool('service-ports'),
      interactive: p.bool('interactive', true), quietPull: p.bool('quiet-pull'),
    }));
    case 'attach': return run(async () => {
      const c = await compose.serviceContainer(env, services[0], opt(p, 'index') ?? 0);
      return compose.attach(env, c.Id, { noStdin: p.bool('no-stdin') });
    });
    case 'top': return run(() => top(io, env, services));
    case 'port': return run(async () => {
      const c = await compose.serviceContainer(env, services[0], opt(p, 'index') ?? 0);
      const proto = p.str('protocol', 'tcp');
      const info = await env.client.containerInspect(c.Id);
      const ports = ((info.NetworkSettings as { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> } | undefined)?.Ports ?? {})[`${services[1]}/${proto}`];
      if (!ports?.length) throw new compose.ComposeError(`no port ${services[1]}/${proto} for container ${compose.nameOf(c)}: unknown`);
      io.out(`${ports[0].HostIp || '0.0.0.0'}:${ports[0].HostPort}\n`);
    });
    case 'images': return run(() => images(io, env, p));
    case 'events': return run(() => events(io, env, p));
    case 'cp': return run(() => cp(io, env, p));
    case 'stats': return run(async () => {
      const list = await compose.containersOf(env, services, { all: p.bool('all') });
      const names = list.filter((c) => p.bool('all') || c.State === 'running').map(compose.nameOf);
      const { command } = require('./resources') as typeof import('./resources');
      const cmd = command('stats');
      const argv = [...(p.bool('no-stream') ? ['--no-stream'] : []), ...(p.bool('no-trunc') ? ['--no-trunc'] : []), ...(p.str('format') ? ['--format', p.str('format')] : []), ...(p.bool('all') ? ['-a'] : []), ...names];
      const sp = parseFlags(cmd.spec, argv);
      return cmd.run({ client: io.client, host: io.host, debug: false, out: io.out, err: io.err }, sp);
    });
  }
  throw new StatusError(1, `unknown docker command: "compose ${name}"`);
}

async function config(io: Io, g: Parsed, p: Parsed): Promise<void> {
  const project = load(io, g, p.args, { interpolate: !p.bool('no-interpolate'), consistency: !p.bool('no-consistency') });
  let text: string;
  if (p.bool('services')) text = compose.listServices(project).map((s) => s + '\n').join('');
  else if (p.bool('volumes')) text = compose.listVolumes(project).map((s) => s + '\n').join('');
  else if (p.bool('networks')) text = compose.listNetworks(project).map((s) => s + '\n').join('');
  else if (p.bool('profiles')) text = compose.listProfiles(project).map((s) => s + '\n').join('');
  else if (p.bool('images')) text = compose.listImages(project).map((s) => s + '\n').join('');
  else if (p.has('hash')) {
    try { text = compose.listHashes(project, p.str('hash')).map((s) => s + '\n').join(''); } catch (err) { throw new StatusError(1, (err as Error).message); }
  } else {
    if (p.args.length) for (const k of Object.keys(project.services)) if (!p.args.includes(k)) delete project.services[k];
    const fmt = p.str('format', 'yaml');
    if (fmt !== 'yaml' && fmt !== 'json') throw new StatusError(1, `unsupported format "${fmt}"`);
    text = fmt === 'json' ? compose.configJson(project) : compose.configYaml(project);
  }
  if (p.bool('quiet')) return;
  if (p.str('output')) { require('fs').writeFileSync(path.resolve(p.str('output')), text); return; }
  io.out(text);
}

async function ls(io: Io, p: Parsed): Promise<void> {
  const nameFilter = p.list('filter').map((f) => /^name=(.*)$/.exec(f)?.[1]).find((x) => x !== undefined);
  for (const f of p.list('filter')) if (!/^name=/.test(f)) throw new StatusError(1, `invalid filter '${f.split('=')[0]}'`);
  const rows = await compose.listProjects(io.client(), p.bool('all'), nameFilter);
  if (p.bool('quiet')) { io.out(rows.map((r) => r.Name + '\n').join('')); return; }
  const fmt = p.str('format', 'table');
  if (fmt === 'json') { io.out(JSON.stringify(rows) + '\n'); return; }
  if (fmt !== 'table' && fmt !== '') throw new StatusError(1, `format value "${fmt}" could not be parsed: parsing failed`);
  io.out(prettyTable(['NAME', 'STATUS', 'CONFIG FILES'], rows.map((r) => [r.Name, r.Status, r.ConfigFiles])));
}

async function ps(io: Io, env: ComposeEnv, p: Parsed): Promise<void> {
  const project = env.project;
  if (p.bool('services')) {
    const names = Object.keys(project.services).filter((s) => !p.args.length || p.args.includes(s));
    io.out(names.map((s) => s + '\n').join(''));
    return;
  }
  for (const s of p.args) if (Object.keys(project.services).length && !(s in project.services)) throw new StatusError(1, `no such service: ${s}`);
  let list = await compose.projectContainers(env.client, project.name, { all: true, oneoff: p.bool('all'), services: p.args });
  const statuses = [...p.list('status'), ...(p.str('filter') ? [p.str('filter')] : []).map((f) => {
    const m = /^status=(.*)$/.exec(f);
    if (!m) throw new StatusError(1, `unknown filter ${f.split('=')[0]}`);
    return m[1];
  })];
  if (statuses.length) list = list.filter((c) => statuses.includes(c.State ?? ''));
  else if (!p.bool('all')) list = list.filter((c) => c.State === 'running' || c.State === 'restarting' || c.State === 'paused');
  if (!p.bool('orphans', true)) list = list.filter((c) => compose.serviceOf(c) in project.services);
  const details = await Promise.all(list.map((c) => env.client.containerInspect(c.Id).catch(() => undefined)));
  const rows = list.map((c, i) => new ComposeContainerContext(c, !p.bool('no-trunc'),
    (details[i]?.State as { Health?: { Status?: string } } | undefined)?.Health?.Status ?? '', details[i]?.State?.ExitCode ?? 0));
  const source = p.str('format', 'table');
  if (source === 'json' && !p.bool('quiet')) { io.out(rows.map((r) => JSON.stringify(r.toJSON()) + '\n').join('')); return; }
  try {
    io.out(writeFormatted(composePsFormat(source, p.bool('quiet')), rows, composeContainerHeaders));
  } catch (err) {
    if (err instanceof FormatError) throw new StatusError(1, err.message);
    throw err;
  }
}

async function logs(env: ComposeEnv, p: Parsed): Promise<void> {
  for (const s of p.args) if (Object.keys(env.project.services).length && !(s in env.project.services)) throw new StatusError(1, `no such service: ${s}`);
  let list = await compose.projectContainers(env.client, env.project.name, { all: true, oneoff: true, services: p.args });
  const index = opt(p, 'index');
  if (index) list = list.filter((c) => compose.numberOf(c) === index);
  const { getTimestamp } = require('../format/units') as typeof import('../format/units');
  const ts = (f: string) => (p.str(f) ? getTimestamp(p.str(f)) : undefined);
  await compose.streamLogs(env, list, {
    follow: p.bool('follow'), tail: p.str('tail', 'all'), timestamps: p.bool('timestamps'), since: ts('since'), until: ts('until'),
    noPrefix: p.bool('no-log-prefix'), color: !p.bool('no-color') && env.tty && !process.env.NO_COLOR,
  });
}

async function build(env: ComposeEnv, p: Parsed): Promise<void> {
  const project = env.project;
  const names = compose.selectServices(project, p.args, !p.bool('with-dependencies')).filter((n) => project.services[n].build);
  const args: Record<string, string> = {};
  for (const a of p.list('build-arg')) { const i = a.indexOf('='); if (i < 0) { if (process.env[a] !== undefined) args[a] = process.env[a]!; } else args[a.slice(0, i)] = a.slice(i + 1); }
  env.progress.start('Building');
  try {
    for (const n of names) await compose.buildService(env, n, { noCache: p.bool('no-cache'), pull: p.bool('pull'), quiet: p.bool('quiet'), args });
    if (p.bool('push')) for (const n of names) await compose.pushService(env, n, false);
  } finally { env.progress.done(); }
}

async function pull(env: ComposeEnv, p: Parsed): Promise<void> {
  const project = env.project;
  const names = compose.selectServices(project, p.args, !p.bool('include-deps')).filter((n) => {
    const s = project.services[n];
    if (!s.image) return false;
    if (s.build && p.bool('ignore-buildable')) return false;
    return true;
  });
  env.progress.start('Pulling');
  try {
    await Promise.all(names.map((n) => compose.pullService(env, n, p.bool('quiet'), p.bool('ignore-pull-failures'))));
  } finally { env.progress.done(); }
}

async function top(io: Io, env: ComposeEnv, services: string[]): Promise<void> {
  const list = (await compose.containersOf(env, services)).filter((c) => c.State === 'running');
  for (const c of list) {
    const t = await env.client.containerTop(c.Id);
    io.out(`${compose.nameOf(c)}\n`);
    io.out(tabulate([t.Titles.join('\t'), ...t.Processes.map((r) => r.join('\t'))].join('\n') + '\n', 0, 3));
    io.out('\n');
  }
}

async function images(io: Io, env: ComposeEnv, p: Parsed): Promise<void> {
  const list = await compose.containersOf(env, p.args);
  const imgs = await Promise.all(list.map((c) => env.client.json<{ Id: string; RepoTags?: string[]; Size?: number }>('GET', `/images/${encodeURIComponent(c.ImageID ?? c.Image ?? '')}/json`).catch(() => undefined)));
  const rows: ImageRow[] = list.map((c, i) => {
    const img = imgs[i];
    const tagged = img?.RepoTags?.find((t) => t === c.Image || t.startsWith(`${c.Image}:`)) ?? img?.RepoTags?.[0] ?? c.Image ?? '';
    const colon = tagged.lastIndexOf(':');
    const [repo, tag] = colon > tagged.lastIndexOf('/') ? [tagged.slice(0, colon), tagged.slice(colon + 1)] : [tagged, '<none>'];
    return { container: compose.nameOf(c), repository: repo, tag, id: img?.Id ?? c.ImageID ?? '', size: img?.Size ?? 0 };
  });
  if (p.bool('quiet')) { io.out([...new Set(rows.map((r) => r.id.replace(/^sha256:/, '')))].map((x) => x + '\n').join('')); return; }
  if (p.str('format', 'table') === 'json') {
    io.out(JSON.stringify(rows.map((r) => ({ ID: r.id, ContainerName: r.container, Repository: r.repository, Tag: r.tag, Size: r.size }))) + '\n');
    return;
  }
  io.out(imagesTable(rows));
}

async function events(io: Io, env: ComposeEnv, p: Parsed): Promise<void> {
  const { LABELS } = compose;
  const label = [`${LABELS.project}=${env.project.name}`];
  const res = await env.client.events({ since: p.str('since') || undefined, until: p.str('until') || undefined, filters: JSON.stringify({ type: ['container'], label }) });
  const wanted = new Set(p.args);
  let buf = '';
  res.setEncoding('utf8');
  await new Promise<void>((resolve) => {
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl); buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const e = JSON.parse(line) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> }; time: number; timeNano: number };
        const service = e.Actor.Attributes[LABELS.service] ?? '';
        if (wanted.size && !wanted.has(service)) continue;
        const attrs: Record<string, string> = {};
        for (const [k, v] of Object.entries(e.Actor.Attributes)) if (!k.startsWith('com.docker.compose.')) attrs[k] = v;
        const when = new Date(Math.floor(e.timeNano / 1e6)).toISOString().replace('Z', '') + String(e.timeNano % 1e6).padStart(6, '0').slice(0, 6) + 'Z';
        if (p.bool('json')) io.out(JSON.stringify({ action: e.Action, attributes: attrs, id: e.Actor.ID, service, time: when, type: 'container' }) + '\n');
        else io.out(`${when} container ${e.Action} ${e.Actor.ID} (${Object.entries(attrs).sort().map(([k, v]) => `${k}=${v}`).join(', ')})\n`);
      }
    });
    res.on('end', resolve);
    res.on('close', resolve);
  });
}

async function cp(io: Io, env: ComposeEnv, p: Parsed): Promise<number | void> {
  const [src, dst] = p.args;
  const idx = opt(p, 'index') ?? 0;
  const resolve = async (arg: string): Promise<string> => {
    const m = /^([a-zA-Z0-9][a-zA-Z0-9_.-]*):(.*)$/.exec(arg);
    if (!m || m[1].length === 1) return arg;
    const c = await compose.serviceContainer(env, m[1], idx, false);
    return `${compose.nameOf(c)}:${m[2]}`;
  };
  const argv = [...(p.bool('archive') ? ['-a'] : []), ...(p.bool('follow-link') ? ['-L'] : []), await resolve(src), await resolve(dst)];
  const { command } = require('./cp') as typeof import('./cp');
  const cmd = command('cp');
  return cmd.run({ client: io.client, host: io.host, debug: false, out: io.out, err: io.err }, parseFlags(cmd.spec, argv));
}

/**
 * `berth compose …` straight from bin/berth: the CLI bundle is not loaded at all (its parse is a third of a second
 * `up`'s start-up). Global flags before `compose` (`berth -H x compose …`) still go through the CLI's main.
 */
export function main(argv: string[]): void {
  const { resolveHost } = require('../../client') as typeof import('../../client');
  const io: Io = { host: resolveHost(), client: () => { throw new Error('no client'); }, out: (t) => { process.stdout.write(t); }, err: (t) => { process.stderr.write(t); } };
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(141); throw err; });
  const finish = (code: number) => {
    let pending = 0;
    const done = () => { if (--pending <= 0) process.exit(code); };
    for (const s of [process.stdout, process.stderr]) if (s.writableLength > 0) { pending++; s.once('drain', done); }
    if (pending === 0) process.exit(code);
  };
  runCompose(io, argv).then((c) => finish(c), (err: unknown) => {
    const status = err instanceof StatusError ? err.status || 1 : 1;
    const msg = err instanceof Error ? err.message : String(err);
    if (msg) process.stderr.write(msg + '\n');
    finish(status);
  });
}

/** The Compose version berth compose matches (the CLI plugin's metadata). */
export const composeVersion = (): string => compose.COMPOSE_VERSION;
