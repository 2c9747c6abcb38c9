// `berth network …` and `berth port` without a daemon: the pure helpers (IPAM grouping, Go's CIDR rules,
// natural order, network rows), then the CLI run end to end against a small fake Engine API on a unix
// socket, asserting on the exact request bodies and queries (the bodies below are what docker 28.2.2
// sent for the same arguments) and on stdout, stderr and exit status.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as http from 'http';
import * as path from 'path';
import * as fs from 'fs';
import * as os from 'os';
import { BERTH } from '../helpers/daemon';
import { buildIpam } from '../../src/cli/commands/network';
import { contains, parseCIDR, parseIP } from '../../src/cli/commands/ipnet';
import { naturalCompare } from '../../src/cli/commands/util';
import { NetworkContext, networkFormat, networkHeaders } from '../../src/cli/format/network';
import { writeFormatted } from '../../src/cli/format/formatter';
import { goTimeStringRfc3339 } from '../../src/cli/format/units';

// ---------------------------------------------------------------------------------------------------
// helpers without a daemon

const ipam = (o: Partial<Parameters<typeof buildIpam>[0]>) =>
  buildIpam({ driver: 'default', subnets: [], ipRanges: [], gateways: [], aux: [], options: [], ...o });

test('IPAM: one config per subnet, in the order given, with its range, gateway and aux addresses', () => {
  assert.deepEqual(ipam({}), { Driver: 'default', Options: {}, Config: [] });
  assert.deepEqual(ipam({
    subnets: ['10.9.0.0/16', '10.2.0.0/16', 'fd00::/64'], gateways: ['fd00::1', '10.9.0.1'], ipRanges: ['10.2.1.0/24'],
    aux: ['b=10.9.0.6', 'a=10.9.0.5', 'a=10.9.0.7'], options: ['z=1', 'y'], driver: 'foo',
  }), {
    Driver: 'foo', Options: { y: '', z: '1' }, Config: [
      { Subnet: '10.9.0.0/16', Gateway: '10.9.0.1', AuxiliaryAddresses: { a: '10.9.0.7', b: '10.9.0.6' } },
      { Subnet: '10.2.0.0/16', IPRange: '10.2.1.0/24' },
      { Subnet: 'fd00::/64', Gateway: 'fd00::1' },
    ],
  });
  // a lone subnet is passed through for the daemon to judge, as docker does
  assert.deepEqual(ipam({ subnets: ['foo'] }).Config, [{ Subnet: 'foo' }]);
  // a gateway may carry a prefix length; IPv4-mapped IPv6 counts as IPv4
  assert.equal(ipam({ subnets: ['10.0.0.0/8'], gateways: ['10.0.0.1/8'] }).Config[0].Gateway, '10.0.0.1/8');
  assert.equal(ipam({ subnets: ['::ffff:10.0.0.0/104'], gateways: ['10.0.0.1'] }).Config[0].Gateway, '10.0.0.1');
});

test('IPAM: docker\'s refusals, with its messages', () => {
  const cases: [Partial<Parameters<typeof buildIpam>[0]>, string][] = [
    [{ gateways: ['10.0.0.1'] }, 'every ip-range or gateway must have a corresponding subnet'],
    [{ subnets: ['10.0.0.0/8'], ipRanges: ['10.1.0.0/16', '10.2.0.0/16'] }, 'every ip-range or gateway must have a corresponding subnet'],
    [{ subnets: ['10.0.0.0/8', '10.1.0.0/16'] }, 'multiple overlapping subnet configuration is not supported'],
    [{ subnets: ['10.0.0.0/8', '10.0.0.0/8'] }, 'multiple overlapping subnet configuration is not supported'],
    [{ subnets: ['10.0.0.0/8'], ipRanges: ['11.0.0.0/16'] }, 'no matching subnet for range 11.0.0.0/16'],
    [{ subnets: ['10.0.0.0/8'], gateways: ['11.0.0.1'] }, 'no matching subnet for gateway 11.0.0.1'],
    [{ subnets: ['10.0.0.0/8'], gateways: ['foo'] }, 'no matching subnet for gateway foo'],
    [{ subnets: ['fd00::/64'], gateways: ['10.0.0.1'] }, 'no matching subnet for gateway 10.0.0.1'],
    [{ subnets: ['10.0.0.0/8'], aux: ['a=11.0.0.1'] }, 'no matching subnet for aux-address 11.0.0.1'],
    [{ subnets: ['10.0.0.0/8'], aux: ['foo'] }, 'no matching subnet for aux-address '],
    [{ aux: ['a=10.0.0.1'] }, 'no matching subnet for aux-address 10.0.0.1'],
    [{ subnets: ['10.0.0.0/8'], ipRanges: ['foo'] }, 'invalid CIDR address: foo'],
    [{ subnets: ['10.0.0.0/8'], gateways: ['10.0.0.1/99'] }, 'invalid CIDR address: 10.0.0.1/99'],
    [{ subnets: ['foo', '10.0.0.0/8'] }, 'invalid subnet: invalid CIDR address: foo'],
    [{ subnets: ['10.0.0.0/8', 'foo'] }, 'invalid subnet: invalid CIDR address: foo'],
    [{ subnets: ['10.0.0.1', '10.0.0.0/8'] }, 'invalid subnet: invalid CIDR address: 10.0.0.1'],
    [{ subnets: ['foo'], gateways: ['10.0.0.1'] }, 'invalid subnet: invalid CIDR address: foo'],
    [{ subnets: ['010.0.0.0/8'], gateways: ['10.0.0.1'] }, 'invalid subnet: invalid CIDR address: 010.0.0.0/8'],
    [{ subnets: ['10.0.0.0/8', '11.0.0.0/8'], ipRanges: ['10.1.0.0/16', '10.2.0.0/16'] }, 'cannot configure multiple ranges (10.2.0.0/16, 10.1.0.0/16) on the same subnet (10.0.0.0/8)'],
    [{ subnets: ['10.0.0.0/8', '11.0.0.0/8'], gateways: ['10.0.0.1', '10.0.0.2'] }, 'cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/8)'],
  ];
  for (const [input, msg] of cases) assert.throws(() => ipam(input), { message: msg }, JSON.stringify(input));
});

test('Go address rules: no leading zeros, no zones, IPv4 and IPv6 families kept apart', () => {
  assert.ok(parseIP('10.0.0.1'));
  assert.equal(parseIP('10.0.0.01'), null);
  assert.equal(parseIP('256.0.0.1'), null);
  assert.equal(parseIP('fe80::1%eth0'), null);
  assert.equal(parseIP('1:::2'), null);
  assert.equal(parseIP('1:2:3:4:5:6:7:8:9'), null);
  assert.deepEqual([...parseIP('::ffff:1.2.3.4')!], [...parseIP('1.2.3.4')!]);
  assert.ok(parseIP('1:2:3:4:5:6::7'));
  assert.throws(() => parseCIDR('10.0.0.0/33'), { message: 'invalid CIDR address: 10.0.0.0/33' });
  assert.throws(() => parseCIDR('10.0.0.0/'), { message: 'invalid CIDR address: 10.0.0.0/' });
  assert.throws(() => parseCIDR('10.0.0.0'), { message: 'invalid CIDR address: 10.0.0.0' });
  assert.ok(contains(parseCIDR('10.0.0.0/08'), parseIP('10.200.0.1')));
  assert.ok(!contains(parseCIDR('10.0.0.0/8'), parseIP('11.0.0.1')));
  assert.ok(contains(parseCIDR('fd00::/64'), parseIP('fd00::1:2')));
  assert.ok(!contains(parseCIDR('::/0'), parseIP('10.0.0.1')));
  assert.ok(!contains(parseCIDR('::ffff:10.0.0.0/80'), parseIP('10.0.0.1')));
  assert.ok(contains(parseCIDR('0.0.0.0/0'), parseIP('::ffff:8.8.8.8')));
  assert.ok(!contains(parseCIDR('10.0.0.0/8'), null));
});

test('natural order: numbers by value, digits before other bytes, upper case before lower', () => {
  const names = ['net10', 'bridge', 'net9', 'Host', 'net09', 'a', 'a1', 'ingress', '10', '9x'];
  assert.deepEqual(names.sort(naturalCompare), ['9x', '10', 'Host', 'a', 'a1', 'bridge', 'ingress', 'net9', 'net09', 'net10']);
  const lines = ['80/tcp -> [::]:8080', '100/tcp -> 127.0.0.1:10000', '9/tcp -> 0.0.0.0:9000', '80/tcp -> 0.0.0.0:8080', '53/udp -> 0.0.0.0:5353'];
  assert.deepEqual(lines.sort(naturalCompare), ['9/tcp -> 0.0.0.0:9000', '53/udp -> 0.0.0.0:5353', '80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080', '100/tcp -> 127.0.0.1:10000']);
});

test('network rows: Go time strings, labels, booleans, headers', () => {
  assert.equal(goTimeStringRfc3339('2024-05-06T07:08:09.123456789Z'), '2024-05-06 07:08:09.123456789 +0000 UTC');
  assert.equal(goTimeStringRfc3339('2024-05-06T07:08:09.500Z'), '2024-05-06 07:08:09.5 +0000 UTC');
  assert.equal(goTimeStringRfc3339(undefined), '0001-01-01 00:00:00 +0000 UTC');
  if (new Date().getTimezoneOffset() === 0) assert.equal(goTimeStringRfc3339('2024-05-06T07:08:09.5+02:00'), '2024-05-06 07:08:09.5 +0200 +0200');
  const n = new NetworkContext({ Name: 'n', Id: 'ab'.repeat(32), Driver: 'bridge', Scope: 'local', EnableIPv6: true, Labels: { b: '2', a: '1' }, Created: '2024-05-06T07:08:09Z' }, true);
  assert.equal(JSON.stringify(n), '{"CreatedAt":"2024-05-06 07:08:09 +0000 UTC","Driver":"bridge","ID":"abababababab","IPv4":"false","IPv6":"true","Internal":"false","Labels":"a=1,b=2","Name":"n","Scope":"local"}');
  assert.equal(writeFormatted('table {{.Name}}\t{{.IPv4}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.CreatedAt}}', [n], networkHeaders),
    'NAME      IPV4      IPV6      INTERNAL   LABELS    CREATED AT\nn         false     true      false      a=1,b=2   2024-05-06 07:08:09 +0000 UTC\n');
  assert.equal(networkFormat('table', true), '{{.ID}}');
  assert.equal(networkFormat('{{.Name}}', true), '{{.Name}}'); // a custom format wins over -q, as in docker
});

// ---------------------------------------------------------------------------------------------------
// end to end against a fake daemon

interface Req { method: string; path: string; query: Record<string, string>; body: string }

const NETS = [
  { Name: 'bridge', Id: 'aa'.repeat(32), Created: '2024-05-06T07:08:09.123456789Z', Scope: 'local', Driver: 'bridge', EnableIPv4: true, IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } },
  { Name: 'net10', Id: 'bb'.repeat(32), Created: '2024-05-06T07:08:09Z', Scope: 'local', Driver: 'bridge', EnableIPv4: true, EnableIPv6: true, Internal: true, Labels: { b: '2', a: '1' } },
  { Name: 'net9', Id: 'cc'.repeat(32), Created: '2024-05-06T07:08:09Z', Scope: 'local', Driver: 'bridge', Labels: null },
  { Name: 'Host', Id: 'dd'.repeat(32), Created: '0001-01-01T00:00:00Z', Scope: 'local', Driver: 'host' },
  { Name: 'ingress', Id: 'ee'.repeat(32), Created: '2024-05-06T07:08:09Z', Scope: 'swarm', Driver: 'overlay', Ingress: true },
];

class FakeDaemon {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-netcli-'));
  readonly socket = path.join(this.dir, 'd.sock');
  requests: Req[] = [];
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const query: Record<string, string> = {};
      u.searchParams.forEach((v, k) => { query[k] = v; });
      const r = { method: req.method ?? '', path: u.pathname, query, body };
      this.requests.push(r);
      this.route(r, res);
    });
  });

  listen(): Promise<void> { return new Promise((r) => this.server.listen(this.socket, r)); }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => { fs.rmSync(this.dir, { recursive: true, force: true }); r(); }));
  }

  private route(r: Req, res: http.ServerResponse): void {
    const send = (status: number, v?: unknown) => {
      if (v === undefined) { res.writeHead(status); res.end(); return; }
      const s = JSON.stringify(v);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
      res.end(s);
    };
    const p = r.path.replace(/^\/v1\.\d+/, '');
    let m: RegExpExecArray | null;
    if (r.method === 'GET' && p === '/networks') return send(200, NETS);
    if (r.method === 'POST' && p === '/networks/create') return send(201, { Id: 'ff'.repeat(32), Warning: '' });
    if (r.method === 'POST' && p === '/networks/prune') return send(200, { NetworksDeleted: ['n1', 'n2'] });
    if ((m = /^\/networks\/([^/]+)\/(connect|disconnect)$/.exec(p)) && r.method === 'POST') {
      return m[1] === 'bad' ? send(404, { message: 'network bad not found' }) : send(200);
    }
    if ((m = /^\/networks\/([^/]+)$/.exec(p))) {
      const name = decodeURIComponent(m[1]);
      const n = NETS.find((x) => x.Name === name || x.Id.startsWith(name));
      if (!n) return send(404, { message: `network ${name} not found` });
      if (r.method === 'DELETE') return n.Name === 'bridge' ? send(403, { message: 'bridge is a pre-defined network and cannot be removed' }) : send(204);
      return send(200, n);
    }
    if ((m = /^\/containers\/([^/]+)\/json$/.exec(p))) {
      if (m[1] !== 'c1') return send(404, { message: `No such container: ${m[1]}` });
      return send(200, {
        Id: '12'.repeat(32), Name: '/c1', NetworkSettings: {
          Ports: {
            '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '::', HostPort: '8080' }],
            '9/tcp': [{ HostIp: '0.0.0.0', HostPort: '9000' }],
            '100/tcp': [{ HostIp: '127.0.0.1', HostPort: '10000' }],
            '53/udp': [{ HostIp: '0.0.0.0', HostPort: '5353' }],
            '443/tcp': null, '81/tcp': [],
          },
        },
      });
    }
    send(404, { message: `page not found: ${p}` });
  }
}

let daemon: FakeDaemon;

before(async () => {
  daemon = new FakeDaemon();
  await daemon.listen();
});

after(() => daemon.close());

interface Result { code: number; stdout: string; stderr: string; reqs: Req[] }

/** Runs the CLI; `api` pins the API version the client speaks (docker negotiated 1.47 in the captures). */
function berth(args: string[], opts: { input?: string; api?: string } = {}): Promise<Result> {
  const mark = daemon.requests.length;
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, BERTH_HOST: `unix://${daemon.socket}`, DOCKER_HOST: '', BERTH_API_VERSION: opts.api ?? '1.47', TZ: 'UTC' };
    if (opts.api === '') delete env.BERTH_API_VERSION;
    const child = spawn(BERTH, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`berth ${args.join(' ')} timed out`)); }, 20000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, reqs: daemon.requests.slice(mark) });
    });
    child.stdin.end(opts.input ?? '');
  });
}

const ID = 'ff'.repeat(32);

test('network create: the request body docker builds, field for field; prints the Id', async () => {
  let r = await berth(['network', 'create', '--subnet', '10.1.0.0/16', '--subnet', '10.2.0.0/16', '--gateway', '10.2.0.1', '--ip-range', '10.1.1.0/24',
    '--aux-address', 'a=10.1.0.5', '--aux-address', 'b=10.2.0.6', '--label', 'x=y', '--label', 'z', '-o', 'com.foo=bar', '--ipam-opt', 'q=r',
    '--internal', '--attachable', '--ipv6', 'mynet']);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, ID + '\n');
  assert.deepEqual(r.reqs.map((q) => `${q.method} ${q.path}`), ['POST /v1.47/networks/create']);
  assert.equal(r.reqs[0].body, '{"Driver":"bridge","Scope":"","EnableIPv6":true,"IPAM":{"Driver":"default","Options":{"q":"r"},"Config":[{"Subnet":"10.1.0.0/16","IPRange":"10.1.1.0/24","AuxiliaryAddresses":{"a":"10.1.0.5"}},{"Subnet":"10.2.0.0/16","Gateway":"10.2.0.1","AuxiliaryAddresses":{"b":"10.2.0.6"}}]},"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"com.foo":"bar"},"Labels":{"x":"y","z":""},"Name":"mynet"}');

  r = await berth(['network', 'create', '--ipv4=false', '--ipv6=false', '--scope', 'local', '--config-from', 'cfg', '--config-only', '--ingress', '--ipam-driver', 'foo', '-d', 'macvlan', 'x2']);
  assert.equal(r.code, 0);
  assert.equal(r.reqs[0].body, '{"Driver":"macvlan","Scope":"local","EnableIPv4":false,"EnableIPv6":false,"IPAM":{"Driver":"foo","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":true,"ConfigOnly":true,"ConfigFrom":{"Network":"cfg"},"Options":{},"Labels":{},"Name":"x2"}');

  // below API 1.44 docker's client also asks the daemon to refuse duplicate names
  r = await berth(['network', 'create', '-o', 'a', '-o', 'b=c=d', 'plain'], { api: '1.43' });
  assert.equal(r.code, 0);
  assert.equal(r.reqs[0].path, '/v1.43/networks/create');
  assert.equal(r.reqs[0].body, '{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"a":"","b":"c=d"},"Labels":{},"Name":"plain","CheckDuplicate":true}');
});

test('network create: local validation errors send nothing; flag and argument errors as docker', async () => {
  let r = await berth(['network', 'create', '--subnet', '10.0.0.0/8', '--gateway', '10.0.0.1', '--gateway', '10.0.0.2', 'x']);
  assert.deepEqual([r.code, r.stdout, r.stderr, r.reqs.length], [1, '', 'every ip-range or gateway must have a corresponding subnet\n', 0]);
  r = await berth(['network', 'create', '--subnet', '10.0.0.0/8', '--ip-range', '11.0.0.0/16', 'x']);
  assert.deepEqual([r.code, r.stderr, r.reqs.length], [1, 'no matching subnet for range 11.0.0.0/16\n', 0]);
  r = await berth(['network', 'create', '--label', '=x', 'x']);
  assert.equal(r.code, 125);
  assert.equal(r.stderr, `invalid argument "=x" for "--label" flag: invalid label '=x': empty name\n\nUsage:  berth network create [OPTIONS] NETWORK\n\nRun 'berth network create --help' for more information\n`);
  r = await berth(['network', 'create', 'x', 'y']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `berth: 'berth network create' requires 1 argument\n\nUsage:  berth network create [OPTIONS] NETWORK\n\nRun 'berth network create --help' for more information\n`);
});

test('network create --help matches docker\'s', async () => {
  const r = await berth(['network', 'create', '--help']);
  assert.equal(r.stdout, `Usage:  berth network create [OPTIONS] NETWORK

Create a network

Options:
      --attachable           Enable manual container attachment
      --aux-address map      Auxiliary IPv4 or IPv6 addresses used by
                             Network driver (default map[])
      --config-from string   The network from which to copy the configuration
      --config-only          Create a configuration only network
  -d, --driver string        Driver to manage the Network (default "bridge")
      --gateway strings      IPv4 or IPv6 Gateway for the master subnet
      --ingress              Create swarm routing-mesh network
      --internal             Restrict external access to the network
      --ip-range strings     Allocate container ip from a sub-range
      --ipam-driver string   IP Address Management Driver (default "default")
      --ipam-opt map         Set IPAM driver specific options (default map[])
      --ipv4                 Enable or disable IPv4 address assignment
                             (default true)
      --ipv6                 Enable or disable IPv6 address assignment
      --label list           Set metadata on a network
  -o, --opt map              Set driver specific options (default map[])
      --scope string         Control the network's scope
      --subnet strings       Subnet in CIDR format that represents a
                             network segment
`);
  const g = await berth(['network', '--help']);
  assert.equal(g.stdout, `Usage:  berth network COMMAND

Manage networks

Commands:
  connect     Connect a container to a network
  create      Create a network
  disconnect  Disconnect a container from a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks

Run 'berth network COMMAND --help' for more information on a command.
`);
});

test('network ls: natural order by name, truncated ids, filters as JSON, quiet, --format', async () => {
  let r = await berth(['network', 'ls']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, `NETWORK ID     NAME      DRIVER    SCOPE
dddddddddddd   Host      host      local
aaaaaaaaaaaa   bridge    bridge    local
eeeeeeeeeeee   ingress   overlay   swarm
cccccccccccc   net9      bridge    local
bbbbbbbbbbbb   net10     bridge    local
`);
  assert.deepEqual(r.reqs.map((q) => [q.method, q.path, q.query]), [['GET', '/v1.47/networks', {}]]);

  r = await berth(['network', 'list', '--no-trunc', '-f', 'driver=bridge', '--filter', 'label=a', '-q']);
  assert.deepEqual(JSON.parse(r.reqs[0].query.filters), { driver: { bridge: true }, label: { a: true } });
  assert.equal(r.stdout, ['dd', 'aa', 'ee', 'cc', 'bb'].map((c) => c.repeat(32)).join('\n') + '\n');

  r = await berth(['network', 'ls', '--format', 'json']);
  assert.equal(r.stdout.split('\n')[4], '{"CreatedAt":"2024-05-06 07:08:09 +0000 UTC","Driver":"bridge","ID":"bbbbbbbbbbbb","IPv4":"true","IPv6":"true","Internal":"true","Labels":"a=1,b=2","Name":"net10","Scope":"local"}');

  r = await berth(['network', 'ls', '-q', '--format', '{{.Name}} {{.CreatedAt}} [{{.Label "a"}}]']);
  assert.equal(r.stdout, 'Host 0001-01-01 00:00:00 +0000 UTC []\nbridge 2024-05-06 07:08:09.123456789 +0000 UTC []\ningress 2024-05-06 07:08:09 +0000 UTC []\nnet9 2024-05-06 07:08:09 +0000 UTC []\nnet10 2024-05-06 07:08:09 +0000 UTC [1]\n');

  r = await berth(['network', 'ls', '--format', 'raw']);
  assert.ok(r.stdout.startsWith('network_id: dddddddddddd\nname: Host\ndriver: host\nscope: local\n\nnetwork_id: aaaaaaaaaaaa\n'));

  r = await berth(['network', 'ls', '--format', '{{.Foo}}']);
  assert.deepEqual([r.code, r.stdout], [1, '']);
  assert.equal(r.stderr, 'template parsing error: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *network.networkContext\n');
});

test('network inspect: the found ones as an indented array, then the errors; -v asks for verbose', async () => {
  let r = await berth(['network', 'inspect', 'net9', 'nosuch', 'Host']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `[
    {
        "Name": "net9",
        "Id": "${'cc'.repeat(32)}",
        "Created": "2024-05-06T07:08:09Z",
        "Scope": "local",
        "Driver": "bridge",
        "Labels": null
    },
    {
        "Name": "Host",
        "Id": "${'dd'.repeat(32)}",
        "Created": "0001-01-01T00:00:00Z",
        "Scope": "local",
        "Driver": "host"
    }
]
`);
  assert.equal(r.stderr, 'Error response from daemon: network nosuch not found\n');

  r = await berth(['network', 'inspect', '-v', '-f', '{{.Name}}', 'net9']);
  assert.deepEqual([r.code, r.stdout], [0, 'net9\n']);
  assert.deepEqual(r.reqs[0].query, { verbose: 'true' });

  // blank names are refused before any request; the others are trimmed
  r = await berth(['network', 'inspect', ' ', ' net9 ']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'invalid network name or ID: value is empty\n');
  assert.deepEqual(r.reqs.map((q) => q.path), ['/v1.47/networks/net9']);
});

test('network rm: each name in turn, errors on stderr, "exit status 1"; -f ignores missing ones', async () => {
  let r = await berth(['network', 'rm', 'net9', 'nosuch', 'bridge', 'Host', ' ']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'net9\nHost\n');
  assert.equal(r.stderr, 'Error response from daemon: network nosuch not found\nError response from daemon: bridge is a pre-defined network and cannot be removed\ninvalid network name or ID: value is empty\nexit status 1\n');
  // docker looks at each network first (the ingress network needs a confirmation), then deletes it
  assert.deepEqual(r.reqs.slice(0, 2).map((q) => `${q.method} ${q.path}`), ['GET /v1.47/networks/net9', 'DELETE /v1.47/networks/net9']);

  r = await berth(['network', 'remove', '-f', 'nosuch', 'net9']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'net9\n', '']);

  r = await berth(['network', 'rm', 'ingress', 'net9'], { input: 'n\n' });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue? [y/N] net9\n');
  assert.ok(!r.reqs.some((q) => q.method === 'DELETE' && q.path.endsWith('/ingress')));
});

test('network prune: prompt, filters, "Deleted Networks:" and a blank line', async () => {
  const warning = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';
  let r = await berth(['network', 'prune'], { input: 'n\n' });
  assert.deepEqual([r.code, r.stdout, r.stderr, r.reqs.length], [0, warning, '', 0]);
  r = await berth(['network', 'prune', '--filter', 'until=24h', '--filter', 'label=a=b'], { input: 'y\n' });
  assert.equal(r.stdout, warning + 'Deleted Networks:\nn1\nn2\n\n');
  assert.deepEqual(JSON.parse(r.reqs[0].query.filters), { until: { '24h': true }, label: { 'a=b': true } });
  r = await berth(['network', 'prune', '-f']);
  assert.deepEqual([r.code, r.stdout], [0, 'Deleted Networks:\nn1\nn2\n\n']);
  assert.deepEqual(r.reqs.map((q) => `${q.method} ${q.path}`), ['POST /v1.47/networks/prune']);
});

test('network connect / disconnect: docker\'s EndpointSettings and Force bodies', async () => {
  let r = await berth(['network', 'connect', 'net9', 'c1']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  assert.equal(r.reqs[0].path, '/v1.47/networks/net9/connect');
  assert.equal(r.reqs[0].body, '{"Container":"c1","EndpointConfig":{"IPAMConfig":{},"Links":null,"Aliases":[],"MacAddress":"","DriverOpts":{},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}');

  r = await berth(['network', 'connect', '--alias', 'a1', '--alias', 'a2,a3', '--ip', '10.0.0.5', '--ip6', 'fd00::5', '--link', 'c2:db', '--link', 'c3',
    '--link-local-ip', '169.254.1.1', '--link-local-ip', 'fe80::1', '--driver-opt', 'k=v', '--driver-opt', ' k2 = v2 ', '--gw-priority', '-5', 'net9', 'c1']);
  assert.equal(r.code, 0);
  assert.equal(r.reqs[0].body, '{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.0.0.5","IPv6Address":"fd00::5","LinkLocalIPs":["169.254.1.1","fe80::1"]},"Links":["c2:db","c3"],"Aliases":["a1","a2","a3"],"MacAddress":"","DriverOpts":{"k":"v","k2":"v2"},"GwPriority":-5,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}');

  r = await berth(['network', 'connect', '--driver-opt', 'novalue', 'net9', 'c1']);
  assert.deepEqual([r.code, r.stderr, r.reqs.length], [1, 'invalid key/value pair format in driver options\n', 0]);
  r = await berth(['network', 'connect', '--link', 'a:b:c', 'net9', 'c1']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c\n\nUsage:  berth network connect \[OPTIONS\] NETWORK CONTAINER\n/);
  r = await berth(['network', 'connect', 'net9', ' ']);
  assert.deepEqual([r.code, r.stderr, r.reqs.length], [1, 'invalid container name or ID: value is empty\n', 0]);
  r = await berth(['network', 'connect', 'bad', 'c1']);
  assert.deepEqual([r.code, r.stderr], [1, 'Error response from daemon: network bad not found\n']);

  r = await berth(['network', 'disconnect', '-f', ' net9', 'c1 ']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', '']);
  assert.deepEqual([r.reqs[0].path, r.reqs[0].body], ['/v1.47/networks/net9/disconnect', '{"Container":"c1","Force":true}']);
  r = await berth(['network', 'disconnect', 'net9', 'c1']);
  assert.equal(r.reqs[0].body, '{"Container":"c1","Force":false}');
});

test('port: all mappings in natural order, one port\'s addresses, docker\'s errors', async () => {
  let r = await berth(['port', 'c1']);
  assert.deepEqual([r.code, r.stderr], [0, '']);
  assert.equal(r.stdout, '9/tcp -> 0.0.0.0:9000\n53/udp -> 0.0.0.0:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n100/tcp -> 127.0.0.1:10000\n');
  assert.deepEqual(r.reqs.map((q) => `${q.method} ${q.path}`), ['GET /v1.47/containers/c1/json']);
  r = await berth(['container', 'port', 'c1', '80']);
  assert.equal(r.stdout, '0.0.0.0:8080\n[::]:8080\n');
  r = await berth(['port', 'c1', '53/udp']);
  assert.equal(r.stdout, '0.0.0.0:5353\n');
  const fails: [string, string][] = [
    ['81', "Error: No public port '81' published for c1"],
    ['443/tcp', "Error: No public port '443/tcp' published for c1"],
    ['80/TCP', "Error: No public port '80/TCP' published for c1"],
    ['x', 'Error: invalid port (x): strconv.ParseUint: parsing "x": invalid syntax'],
    ['99999/tcp', 'Error: invalid port (99999): strconv.ParseUint: parsing "99999": value out of range'],
    ['/tcp', 'Error: invalid port (): strconv.ParseUint: parsing "": invalid syntax'],
  ];
  for (const [port, msg] of fails) {
    r = await berth(['port', 'c1', port]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', msg + '\n'], port);
  }
  r = await berth(['port', 'nope']);
  assert.deepEqual([r.code, r.stderr], [1, 'Error response from daemon: No such container: nope\n']);
  r = await berth(['port', 'c1', '1', '2']);
  assert.equal(r.stderr, `berth: 'berth port' requires at least 1 and at most 2 arguments\n\nUsage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'berth port --help' for more information\n`);
  r = await berth(['port', '--help']);
  assert.equal(r.stdout, 'Usage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nList port mappings or a specific mapping for the container\n\nAliases:\n  berth container port, berth port\n');
});
