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
      --add-runtime name=path   Register an additional OCI runtime (containers pick it with --runtime name)
      --cri-socket string       The Kubernetes CRI (runtime.v1 gRPC) socket; "" turns it off (default unix://<exec-root>/cri.sock)
      --no-cri                  Do not serve the CRI
      --cni-conf-dir string     CNI network configurations for CRI pods (default "/etc/cni/net.d")
      --cni-bin-dir list        CNI plugin directories (default /usr/lib/cni, /opt/cni/bin)
      --cri-registry-mirror list  DOMAIN=URL: CRI image pulls of DOMAIN ask URL first (e.g. gcr.io=http://127.0.0.1:5000)
      --cri-stream-address string  Address of the CRI streaming server (exec, attach, port-forward) (default "127.0.0.1")
      --cri-cgroup-root string  Cgroup of CRI pods that name no cgroup parent (default "/berth-cri")
      --rootless                Run as an ordinary user in a user namespace (the default when not started as root);
                                data root ~/.local/share/berth, exec root and socket under $XDG_RUNTIME_DIR/berth
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error") (default "info")
  -D, --debug                   Enable debug mode
`;

export function main(argv: string[]): void {
  const given = { dataRoot: false, execRoot: false };
  let rootlessFlag = false;
  const opts = { dataRoot: '/var/lib/berth', execRoot: '/run/berth', hosts: [] as string[], runtime: undefined as string | undefined, bridgeName: undefined as string | undefined, subnet: undefined as string | undefined, insecureRegistries: undefined as string[] | undefined,
    criSocket: undefined as string | undefined, cniConfDir: undefined as string | undefined, cniBinDirs: undefined as string[] | undefined,
    criRegistryMirrors: undefined as Record<string, string> | undefined, criStreamAddress: undefined as string | undefined, criCgroupRoot: undefined as string | undefined, addedRuntimes: {} as Record<string, string> };
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
      case '--add-runtime': {
        const v = value();
        const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(\/.+)$/.exec(v);
        if (!m) fail(`invalid --add-runtime ${v}: want name=/absolute/path`);
        if (m[1] === 'crun' || m[1] === 'runc') fail(`runtime name '${m[1]}' is reserved`);
        opts.addedRuntimes[m[1]] = m[2];
        break;
      }
      case '--cri-socket': opts.criSocket = value(); break;
      case '--no-cri': opts.criSocket = ''; break;
      case '--cni-conf-dir': opts.cniConfDir = value(); break;
      case '--cni-bin-dir': (opts.cniBinDirs ??= []).push(...value().split(',').filter(Boolean)); break;
      case '--cri-registry-mirror': {
        const v = value();
        const eq = v.indexOf('=');
        if (eq <= 0 || !/^https?:\/\//.test(v.slice(eq + 1))) fail(`invalid --cri-registry-mirror ${JSON.stringify(v)}: want DOMAIN=http(s)://HOST[:PORT]`);
        (opts.criRegistryMirrors ??= {})[v.slice(0, eq)] = v.slice(eq + 1);
        break;
      }
      case '--cri-stream-address': opts.criStreamAddress = value(); break;
      case '--cri-cgroup-root': {
        const v = value();
        if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(v) || v.split('/').some((part) => part === '.' || part === '..')) fail(`invalid --cri-cgroup-root ${JSON.stringify(v)}: want an absolute cgroup path such as /berth-cri`);
        opts.criCgroupRoot = v;
        break;
      }
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
  // The CRI serves root's pods (CNI, cgroups): a rootless daemon has it off unless asked for.
  if (opts.criSocket === undefined) opts.criSocket = rootlessChild ? '' : `unix://${opts.execRoot}/cri.sock`;
  if (opts.criSocket && !opts.criSocket.startsWith('unix://')) fail(`unsupported --cri-socket ${opts.criSocket}: the CRI is served on a unix socket only`);

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
