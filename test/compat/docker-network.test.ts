// The real docker CLI (v28) and the berth CLI against berth's socket: network create/ls/inspect/rm/prune/connect/
// disconnect, run --network/--network-alias/--ip, -p and port give the same results and the same errors.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'net';
import { TestDaemon, RunResult } from '../helpers/daemon';

const d = new TestDaemon('compat-net');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '0.0.0.0', () => r()));
  const p = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return p;
}

for (const [i, cli] of (['docker', 'berth'] as const).entries()) {
  const run = (...args: string[]) => (cli === 'docker' ? d.docker(args) : d.berth(args));
  const n = (name: string) => `${cli}-${name}`;
  const subnet = `10.249.${10 + i}.0/24`;

  test(`${cli}: network create, ls, inspect, rm with docker's output`, async () => {
    const id = ok(await run('network', 'create', '--subnet', subnet, '--gateway', `10.249.${10 + i}.254`, '--ip-range', `10.249.${10 + i}.128/25`,
      '--label', 'team=blue', '-o', 'com.docker.network.driver.mtu=1400', n('net1')), 'create').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    try {
      const ls = ok(await run('network', 'ls'), 'ls').split('\n');
      assert.match(ls[0], /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/);
      assert.ok(ls.some((l) => new RegExp(`^${id.slice(0, 12)}\\s+${n('net1')}\\s+bridge\\s+local$`).test(l)), ls.join('\n'));
      assert.equal(ok(await run('network', 'ls', '-q', '--no-trunc', '--filter', 'label=team=blue'), 'ls -q').trim(), id);
      assert.equal(ok(await run('network', 'ls', '--filter', `name=${n('net1')}`, '--format', '{{.Name}} {{.Driver}} {{.Scope}}'), 'ls format').trim(),
        `${n('net1')} bridge local`);
      const ins = JSON.parse(ok(await run('network', 'inspect', n('net1')), 'inspect'));
      assert.equal(ins.length, 1);
      assert.equal(ins[0].Id, id);
      assert.deepEqual(ins[0].IPAM.Config, [{ Subnet: subnet, IPRange: `10.249.${10 + i}.128/25`, Gateway: `10.249.${10 + i}.254` }]);
      assert.deepEqual(ins[0].Labels, { team: 'blue' });
      assert.equal(ins[0].Options['com.docker.network.driver.mtu'], '1400');
      assert.equal(ok(await run('network', 'inspect', '-f', '{{.Driver}}/{{.Internal}}', n('net1')), 'inspect -f').trim(), 'bridge/false');
      // an address from the ip-range, the network's MTU
      const addr = ok(await run('run', '--rm', '--network', n('net1'), 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0'), 'run');
      const m = new RegExp(`inet 10\\.249\\.${10 + i}\\.(\\d+)/24`).exec(addr);
      assert.ok(m && Number(m[1]) >= 128, addr);
      assert.match(ok(await run('run', '--rm', '--network', n('net1'), 'busybox', 'cat', '/sys/class/net/eth0/mtu'), 'mtu'), /^1400$/m);
      // errors, as docker prints them
      const dup = await run('network', 'create', n('net1'));
      assert.equal(dup.code, 1);
      assert.equal(dup.stderr.trim(), `Error response from daemon: network with name ${n('net1')} already exists`);
      const missing = await run('network', 'inspect', 'no-such-net');
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no-such-net/);
    } finally {
      const rm = await run('network', 'rm', n('net1'));
      assert.equal(rm.stdout.trim(), n('net1'));
    }
    const rmMissing = await run('network', 'rm', n('net1'));
    assert.equal(rmMissing.code, 1);
    assert.match(rmMissing.stderr, new RegExp(`network ${n('net1')} not found`));
  });

  test(`${cli}: run --network with an alias and --ip; connect, disconnect; names resolve`, async () => {
    ok(await run('network', 'create', '--subnet', `10.248.${10 + i}.0/24`, n('app')), 'create');
    try {
      ok(await run('run', '-d', '--name', n('db'), '--network', n('app'), '--network-alias', 'database', '--ip', `10.248.${10 + i}.20`, 'busybox', 'sleep', '60'), 'run db');
      const look = ok(await run('run', '--rm', '--network', n('app'), 'busybox', 'nslookup', 'database'), 'nslookup alias');
      assert.match(look, new RegExp(`Address: 10\\.248\\.${10 + i}\\.20`));
      assert.equal(ok(await run('inspect', '-f', `{{(index .NetworkSettings.Networks "${n('app')}").IPAddress}}`, n('db')), 'inspect').trim(), `10.248.${10 + i}.20`);
      ok(await run('network', 'connect', 'bridge', n('db')), 'connect bridge');
      const nets = ok(await run('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', n('db')), 'networks').trim().split(' ').sort();
      assert.deepEqual(nets, ['bridge', n('app')].sort());
      ok(await run('network', 'disconnect', 'bridge', n('db')), 'disconnect');
      const busy = await run('network', 'rm', n('app'));
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, new RegExp(`Error response from daemon: error while removing network: network ${n('app')} has active endpoints`));
    } finally {
      await run('rm', '-f', n('db'));
      await run('network', 'rm', n('app'));
    }
  });

  test(`${cli}: -p and port`, async () => {
    const p1 = await freePort();
    ok(await run('run', '-d', '--name', n('web'), '-p', `${p1}:80`, '-p', '127.0.0.1::81/udp', 'busybox', 'sleep', '60'), 'run -p');
    try {
      const lines = ok(await run('port', n('web')), 'port').trim().split('\n');
      assert.equal(lines.length, 2, lines.join('\n'));
      assert.ok(lines.includes(`80/tcp -> 0.0.0.0:${p1}`), lines.join('\n'));
      assert.ok(lines.some((l) => /^81\/udp -> 127\.0\.0\.1:\d+$/.test(l)), lines.join('\n'));
      assert.equal(ok(await run('port', n('web'), '80'), 'port 80').trim(), `0.0.0.0:${p1}`);
      const none = await run('port', n('web'), '82');
      assert.equal(none.code, 1);
      assert.equal(none.stderr.trim(), `Error: No public port '82' published for ${n('web')}`);
      const ps = ok(await run('ps', '--filter', `name=${n('web')}`, '--format', '{{.Ports}}'), 'ps').trim();
      assert.match(ps, new RegExp(`0\\.0\\.0\\.0:${p1}->80/tcp`));
      const clash = await run('run', '-d', '--name', n('web2'), '-p', `${p1}:80`, 'busybox', 'sleep', '60');
      assert.equal(clash.code, 125);
      assert.match(clash.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${p1} failed: port is already allocated`));
    } finally {
      await run('rm', '-f', n('web'), n('web2'));
    }
  });

  test(`${cli}: network prune removes unused user networks only`, async () => {
    ok(await run('network', 'create', n('unused')), 'create');
    ok(await run('network', 'create', n('used')), 'create');
    ok(await run('run', '-d', '--name', n('user'), '--network', n('used'), 'busybox', 'sleep', '60'), 'run');
    try {
      const out = ok(await run('network', 'prune', '-f'), 'prune');
      assert.match(out, /^Deleted Networks:\n/);
      assert.ok(out.split('\n').includes(n('unused')), out);
      assert.ok(!out.split('\n').includes(n('used')), out);
      const left = ok(await run('network', 'ls', '--format', '{{.Name}}'), 'ls').trim().split('\n');
      assert.ok(left.includes(n('used')) && left.includes('bridge') && left.includes('host') && left.includes('none'));
    } finally {
      await run('rm', '-f', n('user'));
      await run('network', 'rm', n('used'));
    }
  });
}
