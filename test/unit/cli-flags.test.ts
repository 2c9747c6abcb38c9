// The CLI's argument handling: pflag parsing rules and messages, docker's usage errors, help texts
// (compared with the real docker CLI's --help output), and the run/create → create body mapping.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseFlags, flagDefs, commandHelp, checkArgs, CommandSpec, wrap, parseGoInt, StatusError } from '../../src/cli/command';
import { command as psCommand } from '../../src/cli/commands/ps';
import { command as containerCommand } from '../../src/cli/commands/container';
import { command as runCommand } from '../../src/cli/commands/run';
import { command as streamCommand } from '../../src/cli/commands/stream';
import { buildContainerConfig, parsePortSpec, parseMount, parseUlimit, parseNetworkOpt } from '../../src/cli/commands/opts';
import { parseNormalizedNamed, familiarString, tagNameOnly, parseAnyReference, apiTag, refName } from '../../src/cli/commands/reference';
import { filtersJson, parseKvFile } from '../../src/cli/commands/util';
import { detachKeyBytes, EscapeProxy, EscapeError } from '../../src/cli/commands/hijack';
import { toStatusError } from '../../src/cli/commands/run';

const spec: CommandSpec = {
  path: 'ps', use: '[OPTIONS]', short: 'List containers', args: 'none',
  flags: flagDefs([
    ['a', 'all', 'bool', 'all'], ['n', 'last', 'int', 'last', '-1'], ['f', 'filter', 'filter', 'filter'],
    ['', 'format', 'string', 'format'], ['q', 'quiet', 'bool', 'quiet'],
  ]),
};

test('pflag parsing: long, short, grouped, attached values, --, -', () => {
  let p = parseFlags(spec, ['-aq', '--last=3', '-f', 'status=running', '--filter', 'name=x', '--format', '{{.ID}}']);
  assert.equal(p.bool('all'), true);
  assert.equal(p.bool('quiet'), true);
  assert.equal(p.int('last'), 3);
  assert.deepEqual(p.list('filter'), ['status=running', 'name=x']);
  assert.equal(p.str('format'), '{{.ID}}');
  p = parseFlags(spec, ['-n5', 'arg', '-a']);
  assert.equal(p.int('last'), 5);
  assert.deepEqual(p.args, ['arg']);
  assert.equal(p.bool('all'), true);
  p = parseFlags(spec, ['-n=7', '--', '-a', '-']);
  assert.equal(p.int('last'), 7);
  assert.deepEqual(p.args, ['-a', '-']);
  p = parseFlags(spec, ['--all=false', '-n', '0x10']);
  assert.equal(p.bool('all'), false);
  assert.equal(p.int('last'), 16);
  assert.equal(p.has('all'), true);
  p = parseFlags({ ...spec, noInterspersed: true }, ['-a', 'busybox', '-q', '--x']);
  assert.deepEqual(p.args, ['busybox', '-q', '--x']);
  assert.equal(p.bool('quiet'), false);
});

test('pflag error messages', () => {
  const err = (argv: string[]) => { try { parseFlags(spec, argv); return ''; } catch (e) { return (e as Error).message; } };
  assert.equal(err(['--foo']), 'unknown flag: --foo');
  assert.equal(err(['-x']), "unknown shorthand flag: 'x' in -x");
  assert.equal(err(['-ax']), "unknown shorthand flag: 'x' in -ax");
  assert.equal(err(['--format']), 'flag needs an argument: --format');
  assert.equal(err(['-n']), "flag needs an argument: 'n' in -n");
  assert.equal(err(['--last', 'x']), 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax');
  assert.equal(err(['--all=maybe']), 'invalid argument "maybe" for "-a, --all" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
  assert.equal(err(['-f', 'nope']), 'invalid argument "nope" for "-f, --filter" flag: bad format of filter (expected name=value)');
  assert.equal(err(['---x']), 'bad flag syntax: ---x');
  assert.equal(parseGoInt('-0o17'), -15);
});

test('--help and deprecated -h', () => {
  const warnings: string[] = [];
  let p = parseFlags(spec, ['-h'], { warn: (m) => warnings.push(m) });
  assert.equal(p.help, true);
  assert.deepEqual(warnings, ['Flag shorthand -h has been deprecated, use --help']);
  p = parseFlags(spec, ['--help', 'x']);
  assert.equal(p.help, true);
});

test('usage errors match docker', () => {
  const msg = (s: CommandSpec, args: string[]) => { try { checkArgs(s, args); return ''; } catch (e) { return `${(e as StatusError).status}:${(e as Error).message}`; } };
  assert.equal(msg(spec, ['x']), "1:berth: 'berth ps' accepts no arguments\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information");
  const stop = containerCommand('stop').spec;
  assert.equal(msg(stop, []), "1:berth: 'berth stop' requires at least 1 argument\n\nUsage:  berth stop [OPTIONS] CONTAINER [CONTAINER...]\n\nSee 'berth stop --help' for more information");
  const rename = containerCommand('rename').spec;
  assert.equal(msg(rename, ['a']), "1:berth: 'berth rename' requires 2 arguments\n\nUsage:  berth rename CONTAINER NEW_NAME\n\nRun 'berth rename --help' for more information");
});

test('pflag help wrapping', () => {
  assert.equal(wrap(24, 79, 'Show all containers (default shows just running)'), 'Show all containers (default shows just running)');
  assert.equal(wrap(24, 79, "Format output using a custom template:\n'table':            Print output in table format with column headers (default)"),
    "Format output using a custom template:\n                        'table':            Print output in table format\n                        with column headers (default)");
});

// Captured from `docker ps --help` / `docker stop --help` (docker 28.2.2, 80 columns), with docker→berth.
const PS_HELP = `Usage:  berth ps [OPTIONS]

List containers

Aliases:
  berth container ls, berth container list, berth container ps, berth ps

Options:
  -a, --all             Show all containers (default shows just running)
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a custom template:
                        'table':            Print output in table format
                        with column headers (default)
                        'table TEMPLATE':   Print output in table format
                        using the given Go template
                        'json':             Print in JSON format
                        'TEMPLATE':         Print output using the given
                        Go template.
                        Refer to https://docs.docker.com/go/formatting/
                        for more information about formatting output with
                        templates
  -n, --last int        Show n last created containers (includes all
                        states) (default -1)
  -l, --latest          Show the latest created container (includes all
                        states)
      --no-trunc        Don't truncate output
  -q, --quiet           Only display container IDs
  -s, --size            Display total file sizes
`;

const STOP_HELP = `Usage:  berth stop [OPTIONS] CONTAINER [CONTAINER...]

Stop one or more running containers

Aliases:
  berth container stop, berth stop

Options:
  -s, --signal string   Signal to send to the container
  -t, --timeout int     Seconds to wait before killing the container
`;

const EXEC_HELP = `Usage:  berth exec [OPTIONS] CONTAINER COMMAND [ARG...]

Execute a command in a running container

Aliases:
  berth container exec, berth exec

Options:
  -d, --detach               Detached mode: run command in the background
      --detach-keys string   Override the key sequence for detaching a
                             container
  -e, --env list             Set environment variables
      --env-file list        Read in a file of environment variables
  -i, --interactive          Keep STDIN open even if not attached
      --privileged           Give extended privileges to the command
  -t, --tty                  Allocate a pseudo-TTY
  -u, --user string          Username or UID (format:
                             "<name|uid>[:<group|gid>]")
  -w, --workdir string       Working directory inside the container
`;

test('help texts are docker\'s', () => {
  const cols = process.stdout.columns;
  if (process.stdin.isTTY && process.stdout.isTTY && cols !== 80) return; // wraps to the terminal
  assert.equal(commandHelp(psCommand('ps').spec), PS_HELP);
  assert.equal(commandHelp(containerCommand('stop').spec), STOP_HELP);
  assert.equal(commandHelp(streamCommand('exec').spec), EXEC_HELP);
  const run = commandHelp(runCommand('run').spec);
  assert.match(run, /^Usage:  berth run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]\n\nCreate and run a new container from an image\n\nAliases:\n  berth container run, berth run\n\nOptions:\n/);
  assert.match(run, /\n      --help                             Print usage\n  -h, --hostname string                  Container host name\n/);
  assert.match(run, /\n      --pull string                      Pull image before running\n                                         \("always", "missing", "never"\)\n                                         \(default "missing"\)\n/);
  assert.ok(!/--dns-opt list|--net network|--time int/.test(run), 'hidden flags stay hidden');
});

// ---------------------------------------------------------------------------------------------------
// run/create flags → create body

const runSpec = runCommand('run');
function body(argv: string[]) {
  const p = parseFlags(runSpec.spec, argv, { validators: runSpec.validators });
  return buildContainerConfig(p, p.args[0], p.args.slice(1));
}

test('create body: defaults like the docker CLI', () => {
  const b = body(['busybox', 'echo', 'hi']);
  assert.deepEqual(b.Config.Cmd, ['echo', 'hi']);
  assert.equal(b.Config.Image, 'busybox');
  assert.equal(b.Config.AttachStdout, true);
  assert.equal(b.Config.AttachStderr, true);
  assert.equal(b.Config.AttachStdin, false);
  assert.equal(b.Config.Entrypoint, null);
  assert.deepEqual(b.Config.Env, []);
  assert.equal(b.Config.ExposedPorts, undefined);
  assert.equal(b.HostConfig.NetworkMode, 'default');
  assert.deepEqual(b.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.deepEqual(b.HostConfig.PortBindings, {});
  assert.equal(b.HostConfig.MemorySwappiness, -1);
  assert.deepEqual(b.NetworkingConfig.EndpointsConfig, { default: {} });
});

test('create body: stdio, env, labels, user, workdir, entrypoint, stop options', () => {
  process.env.BERTH_TEST_VAR = 'from-env';
  const b = body(['-it', '-e', 'A=1', '-e', 'BERTH_TEST_VAR', '-l', 'x=y', '--label', 'z', '-u', '1000:1000', '-w', '/w',
    '--entrypoint', '', '--stop-signal', 'SIGINT', '--stop-timeout', '5', '-h', 'host1', '--name', 'n', '--rm', 'alpine']);
  assert.equal(b.Config.Tty, true);
  assert.equal(b.Config.OpenStdin, true);
  assert.equal(b.Config.AttachStdin, true);
  assert.equal(b.Config.StdinOnce, true);
  assert.deepEqual(b.Config.Env, ['A=1', 'BERTH_TEST_VAR=from-env']);
  assert.deepEqual(b.Config.Labels, { x: 'y', z: '' });
  assert.equal(b.Config.User, '1000:1000');
  assert.equal(b.Config.WorkingDir, '/w');
  assert.deepEqual(b.Config.Entrypoint, ['']);
  assert.equal(b.Config.StopSignal, 'SIGINT');
  assert.equal(b.Config.StopTimeout, 5);
  assert.equal(b.Config.Hostname, 'host1');
  assert.equal(b.HostConfig.AutoRemove, true);
  assert.equal(b.Config.Cmd, null);
});

test('create body: ports (ip:host:container/proto, ranges, -P, --expose)', () => {
  const b = body(['-p', '8080:80', '-p', '127.0.0.1:53:53/udp', '-p', '9000-9001:9000-9001', '-p', '443', '-P', '--expose', '7000-7001/udp', 'nginx']);
  assert.deepEqual(Object.keys(b.Config.ExposedPorts as object).sort(), ['443/tcp', '53/udp', '7000/udp', '7001/udp', '80/tcp', '9000/tcp', '9001/tcp']);
  assert.deepEqual(b.HostConfig.PortBindings, {
    '80/tcp': [{ HostIp: '', HostPort: '8080' }],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '53' }],
    '9000/tcp': [{ HostIp: '', HostPort: '9000' }],
    '9001/tcp': [{ HostIp: '', HostPort: '9001' }],
    '443/tcp': [{ HostIp: '', HostPort: '' }],
  });
  assert.equal(b.HostConfig.PublishAllPorts, true);
  assert.deepEqual(parsePortSpec('[::1]:80:80'), [{ port: '80/tcp', binding: { HostIp: '::1', HostPort: '80' } }]);
  assert.deepEqual(parsePortSpec('8000-8010:80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8000-8010' } }]);
  assert.throws(() => parsePortSpec('1-3:1-2'), /invalid ranges specified for container and host Ports: 1-2 and 1-3/);
  assert.throws(() => parsePortSpec('80/xyz'), /invalid proto: xyz/);
  assert.throws(() => parsePortSpec('abc'), /invalid containerPort: abc/);
  const long = body(['-p', 'target=80,published=8080,protocol=udp', 'nginx']);
  assert.deepEqual(long.HostConfig.PortBindings, { '80/udp': [{ HostIp: '', HostPort: '8080' }] });
});

test('create body: volumes, tmpfs, mounts, restart, network, resources, caps', () => {
  const b = body(['-v', '/data:/data:ro', '-v', 'named:/n', '-v', '/anon', '-v', './rel:/r', '--tmpfs', '/run:size=1m', '--tmpfs', '/tmp',
    '--mount', 'type=bind,src=/a,dst=/b,readonly', '--restart', 'on-failure:3', '--network', 'none', '-m', '512m',
    '--memory-swap', '-1', '--cpus', '1.5', '--cap-add', 'NET_ADMIN', '--cap-drop', 'ALL', '--privileged', '--read-only',
    '--init', '--runtime', 'runc', '--ulimit', 'nofile=1024:2048', '--pids-limit', '100', '--shm-size', '64m',
    '--security-opt', 'no-new-privileges', '--add-host', 'db:10.0.0.2', '--dns', '8.8.8.8', 'busybox']);
  assert.deepEqual(b.HostConfig.Binds, ['/data:/data:ro', 'named:/n', `${process.cwd()}/rel:/r`]);
  assert.deepEqual(b.Config.Volumes, { '/anon': {} });
  assert.deepEqual(b.HostConfig.Tmpfs, { '/run': 'size=1m', '/tmp': '' });
  assert.deepEqual(b.HostConfig.Mounts, [{ Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true }]);
  assert.deepEqual(b.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.equal(b.HostConfig.NetworkMode, 'none');
  assert.deepEqual(b.NetworkingConfig.EndpointsConfig, {});
  assert.equal(b.HostConfig.Memory, 512 * 1024 * 1024);
  assert.equal(b.HostConfig.MemorySwap, -1);
  assert.equal(b.HostConfig.NanoCpus, 1.5e9);
  assert.deepEqual(b.HostConfig.CapAdd, ['NET_ADMIN']);
  assert.deepEqual(b.HostConfig.CapDrop, ['ALL']);
  assert.equal(b.HostConfig.Privileged, true);
  assert.equal(b.HostConfig.ReadonlyRootfs, true);
  assert.equal(b.HostConfig.Init, true);
  assert.equal(b.HostConfig.Runtime, 'runc');
  assert.deepEqual(b.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
  assert.equal(b.HostConfig.PidsLimit, 100);
  assert.equal(b.HostConfig.ShmSize, 64 * 1024 * 1024);
  assert.deepEqual(b.HostConfig.SecurityOpt, ['no-new-privileges']);
  assert.deepEqual(b.HostConfig.ExtraHosts, ['db:10.0.0.2']);
  assert.deepEqual(b.HostConfig.Dns, ['8.8.8.8']);
  const net = body(['--network', 'name=mynet,alias=web,ip=10.1.0.5', 'busybox']);
  assert.equal(net.HostConfig.NetworkMode, 'mynet');
  assert.deepEqual(net.NetworkingConfig.EndpointsConfig, { mynet: { Aliases: ['web'], IPAMConfig: { IPv4Address: '10.1.0.5', IPv6Address: '', LinkLocalIPs: undefined } } });
  assert.equal(body(['--network', 'container:abc', 'busybox']).HostConfig.NetworkMode, 'container:abc');
  assert.deepEqual(body(['--network-alias', 'a', '--network', 'backend', 'busybox']).NetworkingConfig.EndpointsConfig, { backend: { Aliases: ['a'] } });
});

test('create body: docker\'s validation errors', () => {
  const err = (argv: string[]) => { try { body(argv); return ''; } catch (e) { return (e as Error).message; } };
  assert.equal(err(['--rm', '--restart', 'always', 'x']), 'conflicting options: cannot specify both --restart and --rm');
  assert.equal(err(['--memory-swappiness', '200', 'x']), 'invalid value: 200. Valid memory swappiness range is 0-100');
  assert.equal(err(['--restart', 'on-failure:x', 'x']), 'invalid restart policy format: maximum retry count must be an integer');
  assert.equal(err(['--pid', 'bogus', 'x']), '--pid: invalid PID mode');
  assert.equal(err(['--no-healthcheck', '--health-cmd', 'true', 'x']), '--no-healthcheck conflicts with --health-* options');
  assert.equal(err(['--expose', '1:2', 'x']), 'invalid port format for --expose: 1:2');
  assert.equal(err(['--network-alias', 'a', 'x']), 'network-scoped aliases are only supported for user-defined networks');
  assert.equal(err(['--network', 'a', '--network', 'host', 'x']), 'conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  const flagErr = (argv: string[]) => { try { parseFlags(runSpec.spec, argv, { validators: runSpec.validators }); return ''; } catch (e) { return (e as Error).message; } };
  assert.equal(flagErr(['-a', 'foo', 'x']), 'invalid argument "foo" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR');
  assert.equal(flagErr(['-e', '=x', 'x']), 'invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x');
  assert.equal(flagErr(['-m', '12q', 'x']), 'invalid argument "12q" for "-m, --memory" flag: invalid suffix: \'q\'');
  assert.equal(flagErr(['--ulimit', 'nofile=2:1', 'x']), 'invalid argument "nofile=2:1" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2 > 1');
  assert.equal(flagErr(['--mount', 'type=bind', 'x']), 'invalid argument "type=bind" for "--mount" flag: target is required');
  assert.equal(flagErr(['--health-interval', '5', 'x']), 'invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"');
});

test('healthcheck flags become nanoseconds', () => {
  const b = body(['--health-cmd', 'curl -f localhost', '--health-interval', '30s', '--health-retries', '3', 'x']);
  assert.deepEqual(b.Config.Healthcheck, { Test: ['CMD-SHELL', 'curl -f localhost'], Interval: 30e9, Timeout: 0, StartPeriod: 0, StartInterval: 0, Retries: 3 });
});

test('env and label files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cli-'));
  const f = path.join(dir, 'env');
  fs.writeFileSync(f, '\ufeff# comment\nA=1\n  B=two words\nHOME\nNOPE_BERTH_UNSET\n\nC=\n');
  assert.deepEqual(parseKvFile(f, (k) => process.env[k]), ['A=1', 'B=two words', `HOME=${process.env.HOME}`, 'C=']);
  const b = body(['--env-file', f, '-e', 'A=override', 'x']);
  assert.deepEqual(b.Config.Env, ['A=1', 'B=two words', `HOME=${process.env.HOME}`, 'C=', 'A=override']);
  fs.writeFileSync(f, 'BAD KEY=1\n');
  assert.throws(() => parseKvFile(f), /variable 'BAD KEY' contains whitespaces/);
  assert.throws(() => parseKvFile(path.join(dir, 'missing')), /no such file or directory/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('mount, ulimit, network option parsers', () => {
  assert.deepEqual(parseMount('type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1770 } });
  assert.deepEqual(parseMount('source=vol,target=/v,volume-nocopy'), { Type: 'volume', Source: 'vol', Target: '/v', VolumeOptions: { Labels: {}, DriverConfig: {}, NoCopy: true } });
  assert.throws(() => parseMount('type=volume,target=/x,bind-propagation=shared'), /cannot mix 'bind-\*' options with mount type 'volume'/);
  assert.deepEqual(parseUlimit('nproc=10'), { Name: 'nproc', Soft: 10, Hard: 10 });
  assert.throws(() => parseUlimit('bogus=1'), /invalid ulimit type: bogus/);
  assert.equal(parseNetworkOpt('bridge').Target, 'bridge');
  assert.throws(() => parseNetworkOpt('alias=x'), /network name\/id is not specified/);
});

test('image references (distribution/reference)', () => {
  const r = parseNormalizedNamed('busybox');
  assert.equal(refName(r), 'docker.io/library/busybox');
  assert.equal(familiarString(tagNameOnly(r)), 'busybox:latest');
  assert.equal(apiTag(r), 'latest');
  assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('user/app:1.0'))), 'user/app:1.0');
  assert.equal(refName(parseNormalizedNamed('localhost:5000/app')), 'localhost:5000/app');
  assert.equal(familiarString(parseNormalizedNamed('ghcr.io/o/app@sha256:' + 'a'.repeat(64))), 'ghcr.io/o/app@sha256:' + 'a'.repeat(64));
  assert.equal(apiTag(parseNormalizedNamed('app@sha256:' + 'a'.repeat(64))), 'sha256:' + 'a'.repeat(64));
  assert.equal(parseAnyReference('a'.repeat(64)), null);
  assert.throws(() => parseNormalizedNamed('Busybox'), /invalid reference format: repository name \(library\/Busybox\) must be lowercase/);
  assert.throws(() => parseNormalizedNamed('bad name'), /invalid reference format/);
  assert.throws(() => parseNormalizedNamed('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
});

test('filters JSON', () => {
  assert.equal(filtersJson([]), undefined);
  assert.equal(filtersJson(['status=running', 'status=exited', 'Label=a=b', ' name = web ']), '{"status":{"running":true,"exited":true},"label":{"a=b":true},"name":{"web":true}}');
});

test('detach keys and the escape proxy', () => {
  assert.deepEqual(detachKeyBytes('ctrl-p,ctrl-q'), [16, 17]);
  assert.deepEqual(detachKeyBytes('a,ctrl-@,DEL,ctrl-\\'), [97, 0, 127, 28]);
  assert.throws(() => detachKeyBytes('ctrl-'), /Unknown character: 'ctrl-'/);
  const p = new EscapeProxy([16, 17]);
  assert.deepEqual([...p.feed(Buffer.from('ab'))], [97, 98]);
  assert.equal(p.feed(Buffer.from([16])).length, 0);
  assert.deepEqual([...p.feed(Buffer.from([120]))], [16, 120]); // not the sequence: held key is forwarded
  p.feed(Buffer.from([16]));
  assert.throws(() => p.feed(Buffer.from([17])), (e: Error) => e instanceof EscapeError && e.message === 'read escape sequence');
  // keys typed together arrive in one read in Node: still the escape sequence
  assert.throws(() => new EscapeProxy([16, 17]).feed(Buffer.from([16, 17])), EscapeError);
  // a longer read (a paste) is passed through, as docker does
  assert.deepEqual([...new EscapeProxy([16, 17]).feed(Buffer.from([97, 16, 17]))], [97, 16, 17]);
});

test('run exit statuses for start errors (125/126/127)', () => {
  assert.equal(toStatusError(new Error('exec: "x": executable file not found in $PATH')).status, 127);
  assert.equal(toStatusError(new Error('open /x: no such file or directory')).status, 127);
  assert.equal(toStatusError(new Error('exec /x: permission denied')).status, 126);
  const e = toStatusError(new Error('Error response from daemon: boom'));
  assert.equal(e.status, 125);
  assert.equal(e.message, "berth: Error response from daemon: boom\n\nRun 'berth run --help' for more information");
});
