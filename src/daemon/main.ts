// `berth daemon [--data-root DIR] [--exec-root DIR] [-H unix:///run/berth/berth.sock] [--runtime crun|runc] [--log-level L]`
import { Daemon } from './daemon';
import { log, setLogLevel, Level } from '../common/log';
import { errorMessage } from '../common/errors';
import { acquireLock, releaseLock } from './lock';
import { rootlessPaths, RootlessPathError } from '../rootless/paths';
import { childContextFromEnv } from '../rootless/child-context';
import { runRootlessParent } from '../rootless/parent';

const USAGE = `Usage:  berth daemon [OPTIONS]

Run the berth daemon in the foreground

Options:
      --data-root string        Root directory of persistent state (default "/var/lib/berth")
      --exec-root string        Root directory for execution state files (default "/run/berth")
  -H, --host list               Daemon socket(s) to listen on (default unix:///run/berth/berth.sock)
      --runtime string          Default OCI runtime: crun or runc (default: crun where it works on this host, else runc)
      --bridge string           Name of the default bridge device (default "berth0")
      --bip string              Subnet of the default bridge network (default: a free private /16)
      --insecure-registry list  Registries to reach over plain HTTP (host[:port] or CIDR); loopback always is
      --rootless                Run as an ordinary user in a user namespace (the default when not started as root);
                                data root ~/.local/share/berth, exec root and socket under $XDG_RUNTIME_DIR/berth
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
  -D, --debug                   Enable debug mode
`;

export function main(argv: string[]): void {
  const given = { dataRoot: false, execRoot: false };
  let rootlessFlag = false;
  const opts = { dataRoot: '/var/lib/berth', execRoot: '/run/berth', hosts: [] as string[], runtime: undefined as string | undefined, bridgeName: undefined as string | undefined, subnet: undefined as string | undefined, insecureRegistries: undefined as string[] | undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`flag needs an argument: ${flag}`);
      return v;
    };
    switch (flag) {
      case '--data-root': opts.dataRoot = value(); given.dataRoot = true; break;
      case '--exec-root': opts.execRoot = value(); given.execRoot = true; break;
      case '--rootless': rootlessFlag = inline === undefined || inline === 'true'; break;
      case '-H': case '--host': opts.hosts.push(value()); break;
      case '--runtime': case '--default-runtime': opts.runtime = value(); break;
      case '--bridge': opts.bridgeName = value(); break;
      case '--bip': opts.subnet = value(); break;
      case '--insecure-registry': (opts.insecureRegistries ??= []).push(value()); break;
      case '-l': case '--log-level': setLogLevel(value() as Level); break;
      case '-D': case '--debug': setLogLevel('debug'); break;
      case '-h': case '--help': process.stdout.write(USAGE); return;
      default: fail(`unknown flag: ${flag}\nSee 'berth daemon --help'.`);
    }
  }
  // Rootless (src/rootless): an ordinary user's daemon, or --rootless. The first process is the parent outside the
  // namespaces; it starts this same command again inside them, with its context in the environment.
  const rootlessChild = childContextFromEnv();
  const uid = process.getuid?.() ?? 0;
  if (!rootlessChild && (rootlessFlag || uid !== 0)) {
    if (uid === 0) fail('--rootless is for an ordinary user: start berth daemon as that user (as root, berth rootless setup USER prepares one)');
    try {
      const paths = rootlessPaths();
      if (!given.dataRoot) opts.dataRoot = paths.dataRoot;
      if (!given.execRoot) opts.execRoot = paths.execRoot;
    } catch (err) {
      if (err instanceof RootlessPathError) fail(`rootless: ${err.message}`);
      throw err;
    }
    if (!opts.hosts.length) opts.hosts.push(`unix://${opts.execRoot}/berth.sock`);
    const childArgs = ['daemon', ...argv, '--rootless', '--data-root', opts.dataRoot, '--exec-root', opts.execRoot, ...(argv.some((a) => /^(-H|--host)(=|$)/.test(a)) ? [] : ['-H', opts.hosts[0]])];
    void runRootlessParent({
      dataRoot: opts.dataRoot, execRoot: opts.execRoot, hosts: opts.hosts,
      daemonArgv: [process.execPath, ...(process.argv[1] ? [process.argv[1]] : []), ...childArgs],
      lock: { acquire: acquireLock, release: releaseLock },
    });
    return;
  }
  if (!opts.hosts.length) opts.hosts.push(`unix://${opts.execRoot}/berth.sock`);

  const daemon = new Daemon({ ...opts, rootlessChild });
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down; containers keep running', { signal: sig });
    daemon.shutdown().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGPIPE', () => { /* a client went away mid-write */ });
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: errorMessage(err) }));
  daemon.start().then(() => log.info('berth daemon started', { dataRoot: opts.dataRoot, runtime: daemon.runtime.name }), (err) => {
    log.error(`failed to start daemon: ${errorMessage(err)}`);
    void daemon.shutdown().finally(() => process.exit(1));
  });
}

function fail(msg: string): never {
  process.stderr.write(`${msg}\n`);
  process.exit(125);
}
