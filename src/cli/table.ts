// The command table: every berth command, in docker's help order and grouping, and the module that implements
// it (loaded only when the command runs). main.ts looks commands up here; nothing here runs at load time.
import type { CommandFactory } from './cmd';

// Command modules are required lazily: `berth ps` evaluates only the ps module (see README: keeping a command fast).
// To add a command: one line here for its module, one entry in the list where docker's help shows it.
export const MODULES: Record<string, () => CommandFactory> = {
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
  desktop: () => require('./commands/desktop').command,
  compose: () => require('./commands/compose').command,
};

export interface Entry {
  name: string;
  short: string;
  /** key in MODULES */
  mod: string;
  aliases?: string[];
  /** Runs on Node even when the CLI is the Bun-built executable: long-running servers (the daemon's peers). */
  node?: boolean;
}

// Top-level commands, in docker's help order and grouping.
export const COMMON: Entry[] = [
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
export const OTHERS: Entry[] = [
  // compose has its own bundle (dist/compose.js), which the Bun-built executable runs itself
  { name: 'compose', short: 'Define and run multi-container applications (Docker Compose)', mod: 'compose' },
  { name: 'attach', short: 'Attach local standard input, output, and error streams to a running container', mod: 'stream' },
  { name: 'commit', short: "Create a new image from a container's changes", mod: 'commit' },
  { name: 'cp', short: 'Copy files/folders between a container and the local filesystem', mod: 'cp' },
  { name: 'create', short: 'Create a new container', mod: 'run' },
  { name: 'desktop', short: 'Open the berth dashboard in a browser (starts the engine if needed)', mod: 'desktop' },
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

export interface Group { name: string; short: string; subs: Entry[] }
export const GROUPS: Group[] = [
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
      { name: 'serve', short: 'Run an OCI distribution registry (a local Docker Hub) in the foreground', mod: 'registry', node: true },
    ],
  },
  {
    name: 'rootless', short: 'Run berth as an ordinary user', subs: [
      // on Node: host set-up with its own bundle (dist/rootless-setup.js, found beside dist/cli.js), rare and not timed
      { name: 'setup', short: 'Prepare this host for USER\'s rootless daemon (packages, subordinate ids, devices); run as root', mod: 'rootless', node: true },
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
