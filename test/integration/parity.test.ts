// What docker-py's integration suite found berth doing unlike dockerd (issue 14), each checked here on its own
// with real containers: swarm and plugin endpoints, container create fields, links, exec streams, networks,
// resolv.conf, builds. test/compat/docker-py.test.ts runs the whole suite; these keep each fix from regressing.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'net';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TestDaemon, RunResult, runCmd, waitFor, sleep } from '../helpers/daemon';

const d = new TestDaemon('parity');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout.trim(); };
const docker = (...args: string[]) => d.docker(args);
// subnets of this test's own networks: inside 10.63.0.0/16, apart from other test files' daemons
const subnet = (i: number) => `10.63.${100 + i}.0/24`;

async function create(body: Record<string, unknown>, name?: string, version = ''): Promise<string> {
  const r = await d.api('POST', `${version}/containers/create${name ? `?name=${name}` : ''}`, { Image: 'busybox', ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.Id;
}

async function runToEnd(body: Record<string, unknown>): Promise<string> {
  const id = await create(body);
  assert.equal((await d.api('POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await d.api('POST', `/containers/${id}/wait`)).status, 200);
  const logs = await d.api('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
  await d.api('DELETE', `/containers/${id}?force=1`);
  return demux(Buffer.from(String(logs.body), 'latin1'));
}

/** The payload of a multiplexed stream (docker's stdcopy frames). */
function demux(raw: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= raw.length;) {
    const len = raw.readUInt32BE(i + 4);
    out += raw.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return out;
}

/** A hijacked POST (attach, exec start): the raw socket and everything received after the 101. */
function hijack(urlPath: string, body?: unknown): Promise<{ sock: net.Socket; output: () => Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(d.socket);
    const payload = body === undefined ? '' : JSON.stringify(body);
    sock.write(`POST ${urlPath} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
    let buf = Buffer.alloc(0);
    let out = Buffer.alloc(0);
    let headerDone = false;
    sock.on('data', (c: Buffer) => {
      if (headerDone) { out = Buffer.concat([out, c]); return; }
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) { reject(new Error(`no upgrade: ${buf}`)); return; }
      headerDone = true;
      out = buf.subarray(end + 4);
      resolve({ sock, output: () => out });
    });
    sock.on('error', reject);
  });
}

// ---- swarm and plugins

test('swarm endpoints answer as a dockerd whose swarm is inactive; info says inactive', async () => {
  const notManager = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
  for (const [method, p] of [['GET', '/swarm'], ['GET', '/services'], ['GET', '/nodes'], ['GET', '/secrets'], ['GET', '/configs'], ['GET', '/tasks'],
    ['POST', '/services/create'], ['DELETE', '/secrets/x'], ['GET', '/swarm/unlockkey']] as const) {
    const r = await d.api(method, `/v1.41${p}`, method === 'POST' ? {} : undefined);
    assert.deepEqual([r.status, r.body.message], [503, notManager], `${method} ${p}`);
  }
  const leave = await d.api('POST', '/swarm/leave?force=1');
  assert.deepEqual([leave.status, leave.body.message], [503, 'This node is not part of a swarm']);
  assert.equal((await d.api('POST', '/swarm/init', {})).status, 503);
  assert.equal((await d.api('GET', '/info')).body.Swarm.LocalNodeState, 'inactive');
  const cli = await docker('swarm', 'leave', '--force');
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /Error response from daemon: This node is not part of a swarm/);
});

test('plugins: none installed, none can be: list [], inspect 404, install 501 — the same on every endpoint', async () => {
  assert.deepEqual((await d.api('GET', '/plugins')).body, []);
  const missing = await d.api('GET', '/plugins/vieux/sshfs:latest/json');
  assert.deepEqual([missing.status, missing.body.message], [404, 'plugin "vieux/sshfs:latest" not found']);
  assert.equal((await d.api('DELETE', '/plugins/x')).status, 404);
  assert.equal((await d.api('POST', '/plugins/x/enable')).status, 404);
  for (const p of ['/plugins/create?name=x', '/plugins/pull?remote=x']) assert.equal((await d.api('POST', p)).status, 501, p);
  assert.equal((await d.api('GET', '/plugins/privileges?remote=x')).status, 501);
});

// ---- API bodies and volumes

test('201 answers carry no internal fields; volume create of an existing name returns it unchanged', async () => {
  const v = await d.api('POST', '/volumes/create', { Name: 'parity-v1', Labels: { a: 'b' } });
  assert.equal(v.status, 201);
  assert.deepEqual(Object.keys(v.body).sort(), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
  const again = await d.api('POST', '/volumes/create', { Name: 'parity-v1', DriverOpts: { type: 'tmpfs', device: 'tmpfs' }, Labels: { c: 'd' } });
  assert.equal(again.status, 201);
  assert.deepEqual([again.body.Options, again.body.Labels, again.body.CreatedAt], [null, { a: 'b' }, v.body.CreatedAt]);
  const c = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] });
  assert.deepEqual(Object.keys(c.body).sort(), ['Id', 'Warnings']);
  ok(await docker('volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', 'parity-v1'), 'docker volume create again');
  await d.api('DELETE', `/containers/${c.body.Id}`);
  await d.api('DELETE', '/volumes/parity-v1');
});

// ---- containers

test('create: field names in any case (as Go decodes JSON), top-level Runtime honoured, Env without "=" kept in Config only', async () => {
  const id = await create({ Cmd: ['env'], env: ['Foo', 'Other=one'], HostConfig: { CPURealtimePeriod: 1000, cpurealtimeruntime: 500 } });
  const i = (await d.api('GET', `/containers/${id}/json`)).body;
  assert.deepEqual([i.HostConfig.CpuRealtimePeriod, i.HostConfig.CpuRealtimeRuntime], [1000, 500]);
  assert.ok(i.Config.Env.includes('Foo') && i.Config.Env.includes('Other=one'), JSON.stringify(i.Config.Env));
  await d.api('DELETE', `/containers/${id}`);
  // Runtime beside HostConfig (docker-py's create_container(runtime=…)) is the runtime asked for: runc here, which
  // berth either runs or refuses (a runc with known container escapes), never silently replaces by its default
  const rt = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], Runtime: 'runc' });
  if (rt.status === 201) {
    assert.equal((await d.api('GET', `/containers/${rt.body.Id}/json`)).body.HostConfig.Runtime, 'runc');
    await d.api('DELETE', `/containers/${rt.body.Id}`);
  } else {
    assert.deepEqual([rt.status, /^runc .* has known container escapes/.test(rt.body.message)], [400, true], JSON.stringify(rt.body));
  }
  const env = await runToEnd({ Cmd: ['env'], Env: ['Foo', 'Other=one'] });
  assert.match(env, /^Other=one$/m);
  assert.doesNotMatch(env, /^Foo/m);
});

test('LogConfig: docker\'s default and errors; the none driver keeps no log', async () => {
  const bad = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: { Type: 'asdf', Config: {} } } });
  assert.deepEqual([bad.status, bad.body.message], [400, 'error looking up logging plugin asdf: plugin "asdf" not found']);
  const badOpt = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: { Type: 'json-file', Config: { bogus: '1' } } } });
  assert.deepEqual([badOpt.status, badOpt.body.message], [400, "unknown log opt 'bogus' for json-file log driver"]);
  assert.equal((await d.api('GET', '/containers/json?all=1')).body.length, 0, 'a refused create leaves nothing behind');
  const id = await create({ Cmd: ['true'], HostConfig: { LogConfig: { Type: '', Config: { 'max-file': '100' } } } });
  assert.deepEqual((await d.api('GET', `/containers/${id}/json`)).body.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-file': '100' } });
  const none = await create({ Cmd: ['echo', 'unlogged'], HostConfig: { LogConfig: { Type: 'none' } } });
  await d.api('POST', `/containers/${none}/start`);
  assert.equal((await d.api('POST', `/containers/${none}/wait`)).body.StatusCode, 0);
  const logs = await d.api('GET', `/containers/${none}/logs?stdout=1`);
  assert.deepEqual([logs.status, logs.body.message], [501, 'configured logging driver does not support reading']);
  for (const c of [id, none]) await d.api('DELETE', `/containers/${c}?force=1`);
});

test('group_add adds groups by number and by name', async () => {
  const out = await runToEnd({ Cmd: ['id', '-G'], HostConfig: { GroupAdd: ['1000', 'daemon'] } });
  const groups = out.trim().split(' ');
  assert.ok(groups.includes('1000') && groups.includes('1'), out);
  const bad = await create({ Cmd: ['true'], HostConfig: { GroupAdd: ['no-such-group'] } });
  const started = await d.api('POST', `/containers/${bad}/start`);
  assert.equal(started.status, 500);
  assert.match(started.body.message, /Unable to find group no-such-group/);
  await d.api('DELETE', `/containers/${bad}?force=1`);
});

test('legacy links on the default bridge: environment, hosts entry, inspect form, rm --link', async () => {
  const target = await create({ Cmd: ['sleep', '300'], Env: ['FOO=1'], ExposedPorts: { '80/tcp': {} } }, 'parity-linked');
  await d.api('POST', `/containers/${target}/start`);
  const ip = (await d.api('GET', `/containers/${target}/json`)).body.NetworkSettings.IPAddress;
  const missing = await d.api('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Links: ['nonexistent:x'] } });
  assert.equal(missing.status, 404);
  const id = await create({ Cmd: ['sh', '-c', 'env; cat /etc/hosts'], HostConfig: { Links: ['parity-linked:my-link'] } }, 'parity-linker');
  assert.deepEqual((await d.api('GET', `/containers/${id}/json`)).body.HostConfig.Links, ['/parity-linked:/parity-linker/my-link']);
  await d.api('POST', `/containers/${id}/start`);
  await d.api('POST', `/containers/${id}/wait`);
  const out = demux(Buffer.from(String((await d.api('GET', `/containers/${id}/logs?stdout=1`)).body), 'latin1'));
  for (const line of ['MY_LINK_NAME=/parity-linker/my-link', 'MY_LINK_ENV_FOO=1', `MY_LINK_PORT=tcp://${ip}:80`, `MY_LINK_PORT_80_TCP_ADDR=${ip}`, 'MY_LINK_PORT_80_TCP_PROTO=tcp']) {
    assert.ok(out.split('\n').includes(line), `${line} in\n${out}`);
  }
  assert.match(out, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s+my-link parity-linked$`, 'm'));
  assert.equal((await d.api('DELETE', '/containers/parity-linker/my-link?link=1')).status, 204);
  assert.equal((await d.api('GET', `/containers/${id}/json`)).body.HostConfig.Links, null);
  for (const c of [id, target]) await d.api('DELETE', `/containers/${c}?force=1`);
});

test('commit with pause right after a quick container starts: committed as it is when it has just exited', async () => {
  // the container's process exits around the commit: before, during or after its exit is handled
  for (let i = 0; i < 10; i++) {
    const id = await create({ Cmd: ['touch', '/test'] });
    await d.api('POST', `/containers/${id}/start`);
    const r = await d.api('POST', `/commit?container=${id}&pause=1`);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await d.api('DELETE', `/containers/${id}?force=1`);
    await d.api('DELETE', `/images/${r.body.Id}`);
  }
});

// ---- exec

test('exec: a tty exec started with Tty false streams frames of terminal output; detachKeys in any case; 126 for a missing binary', async () => {
  const id = await create({ Cmd: ['sleep', '300'] });
  await d.api('POST', `/containers/${id}/start`);
  const ex = await d.api('POST', `/containers/${id}/exec`, { Cmd: ['sh', '-c', 'echo out; echo err >&2'], Tty: true, AttachStdout: true, AttachStderr: true, detachKeys: 'ctrl-p' });
  assert.equal((await d.api('GET', `/exec/${ex.body.Id}/json`)).body.DetachKeys, 'ctrl-p');
  const { sock, output } = await hijack(`/exec/${ex.body.Id}/start`, { Detach: false, Tty: false });
  await new Promise((r) => sock.on('close', r));
  const raw = output();
  assert.equal(raw[0], 1, 'a stdout frame first');
  assert.equal(demux(raw), 'out\r\nerr\r\n');

  const missing = await d.api('POST', `/containers/${id}/exec`, { Cmd: ['no-such-binary'], AttachStdout: true });
  const m = await hijack(`/exec/${missing.body.Id}/start`, { Detach: false, Tty: false });
  await new Promise((r) => m.sock.on('close', r));
  assert.equal((await d.api('GET', `/exec/${missing.body.Id}/json`)).body.ExitCode, 126);
  await d.api('DELETE', `/containers/${id}?force=1`);
});

test('exec -it: a resize sent right after the start is applied, not refused or undone by the start\'s size', async () => {
  const id = await create({ Cmd: ['sleep', '300'] });
  await d.api('POST', `/containers/${id}/start`);
  for (let i = 0; i < 3; i++) {
    const ex = await d.api('POST', `/containers/${id}/exec`, { Cmd: ['sh', '-c', 'read x; stty size'], Tty: true, AttachStdin: true, AttachStdout: true, ConsoleSize: [21, 77] });
    const { sock, output } = await hijack(`/exec/${ex.body.Id}/start`, { Detach: false, Tty: true, ConsoleSize: [21, 77] });
    const resized = await d.api('POST', `/exec/${ex.body.Id}/resize?h=33&w=99`);
    assert.equal(resized.status, 200, JSON.stringify(resized.body));
    sock.write('go\r');
    await new Promise((r) => sock.on('close', r));
    assert.match(output().toString(), /33 99\r\n$/);
  }
  await d.api('DELETE', `/containers/${id}?force=1`);
});

// ---- networks

test('networks: names with spaces; reconnect after disconnecting the only network, with an address; a second force-disconnect fails', async () => {
  ok(await docker('network', 'create', '--subnet', subnet(1), '--ip-range', subnet(1).replace('.0/24', '.128/25'), 'parity net 01'), 'create with a space');
  assert.equal(ok(await docker('network', 'inspect', '-f', '{{.Name}} {{.IPAM.Options}}', 'parity net 01'), 'inspect'), 'parity net 01 map[]');
  const id = ok(await docker('run', '-d', '--network', 'parity net 01', 'busybox', 'sleep', '300'), 'run');
  ok(await docker('network', 'disconnect', 'parity net 01', id), 'disconnect the only network');
  assert.equal(ok(await docker('inspect', '-f', '{{.HostConfig.NetworkMode}} {{len .NetworkSettings.Networks}}', id), 'inspect'), 'parity net 01 0');
  const ip = subnet(1).replace('.0/24', '.24');
  ok(await docker('network', 'connect', '--ip', ip, 'parity net 01', id), 'connect with an address');
  assert.equal(ok(await docker('inspect', '-f', '{{(index .NetworkSettings.Networks "parity net 01").IPAMConfig.IPv4Address}}', id), 'inspect'), ip);
  assert.match(ok(await docker('exec', id, 'ip', '-4', '-o', 'addr', 'show', 'eth0'), 'ip addr'), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
  ok(await docker('network', 'disconnect', '-f', 'parity net 01', id), 'force disconnect');
  const second = await d.api('POST', `/networks/${encodeURIComponent('parity net 01')}/disconnect`, { Container: id, Force: true });
  assert.equal(second.status, 403);
  assert.match(second.body.message, /is not connected to network parity net 01/);
  // stopped and disconnected from everything: it starts with loopback only
  ok(await docker('restart', '-t', '0', id), 'restart');
  assert.doesNotMatch(ok(await docker('exec', id, 'ip', '-o', 'link'), 'links'), /eth0/);
  ok(await docker('rm', '-f', id), 'rm');
  ok(await docker('network', 'rm', 'parity net 01'), 'network rm');
});

test('networks: MacAddress, Links, link-local IPs and DriverOpts are kept, shown and applied; IPAM.Options echo the request', async () => {
  const netName = 'parity-links';
  const created = await d.api('POST', '/networks/create', { Name: netName, IPAM: { Driver: 'default', Config: [{ Subnet: subnet(2) }] } });
  assert.equal(created.status, 201);
  assert.equal((await d.api('GET', `/networks/${netName}`)).body.IPAM.Options, null);
  const upstream = await create({ Cmd: ['sleep', '300'], HostConfig: { NetworkMode: netName } }, 'parity-upstream');
  await d.api('POST', `/containers/${upstream}/start`);
  const upstreamIp = (await d.api('GET', `/containers/${upstream}/json`)).body.NetworkSettings.Networks[netName].IPAddress;
  const id = await create({
    Cmd: ['sleep', '300'], HostConfig: { NetworkMode: netName },
    NetworkingConfig: { EndpointsConfig: { [netName]: { Links: ['parity-upstream:bar'], IPAMConfig: { LinkLocalIPs: ['169.254.8.8'] }, DriverOpts: { 'com.example.x': 'on' } } } },
  });
  const configured = (await d.api('GET', `/containers/${id}/json`)).body.NetworkSettings.Networks[netName];
  assert.deepEqual([configured.Links, configured.IPAMConfig, configured.DriverOpts], [['parity-upstream:bar'], { LinkLocalIPs: ['169.254.8.8'] }, { 'com.example.x': 'on' }]);
  // a created container connected with a MAC address shows it, and gets it at start
  const other = 'parity-mac';
  assert.equal((await d.api('POST', '/networks/create', { Name: other, IPAM: { Config: [{ Subnet: subnet(3) }] }, Options: {} })).status, 201);
  assert.equal((await d.api('POST', `/networks/${other}/connect`, { Container: id, EndpointConfig: { MacAddress: '02:42:ac:11:00:02' } })).status, 200);
  assert.equal((await d.api('GET', `/containers/${id}/json`)).body.NetworkSettings.Networks[other].MacAddress, '02:42:ac:11:00:02');
  await d.api('POST', `/containers/${id}/start`);
  const running = (await d.api('GET', `/containers/${id}/json`)).body.NetworkSettings.Networks;
  assert.deepEqual([running[netName].Links, running[netName].IPAMConfig, running[netName].DriverOpts], [['parity-upstream:bar'], { LinkLocalIPs: ['169.254.8.8'] }, { 'com.example.x': 'on' }]);
  assert.equal(running[other].MacAddress, '02:42:ac:11:00:02');
  const addrs = ok(await docker('exec', id, 'ip', '-o', 'addr'), 'ip addr');
  assert.match(addrs, /inet 169\.254\.8\.8\/16/);
  assert.match(ok(await docker('exec', id, 'ip', '-o', 'link'), 'ip link'), /02:42:ac:11:00:02/);
  // the link's alias resolves, for this container only
  assert.match(ok(await docker('exec', id, 'nslookup', 'bar'), 'nslookup bar'), new RegExp(upstreamIp.replace(/\./g, '\\.')));
  const fromUpstream = await docker('exec', upstream, 'nslookup', 'bar');
  assert.doesNotMatch(fromUpstream.stdout, new RegExp(`Address: ${upstreamIp.replace(/\./g, '\\.')}`));
  for (const c of [id, upstream]) await d.api('DELETE', `/containers/${c}?force=1`);
  for (const n of [netName, other]) assert.equal((await d.api('DELETE', `/networks/${n}`)).status, 204);
});

test('IPv6: dual-stack networks give containers an IPv6 address, a route and AAAA answers; a pool without --ipv6 is kept, unused', async () => {
  const v6 = '2001:db8:63:1::/64';
  assert.equal((await d.api('POST', '/networks/create', { Name: 'parity-nov6', EnableIPv6: true, IPAM: { Config: [{ Subnet: subnet(5) }] } })).status, 400);
  ok(await docker('network', 'create', '--ipv6', '--subnet', subnet(5), '--subnet', v6, 'parity-v6'), 'create dual stack');
  const overlap = await d.api('POST', '/networks/create', { Name: 'parity-v6b', EnableIPv6: true, IPAM: { Config: [{ Subnet: '2001:db8:63:1:8000::/80' }] } });
  assert.equal(overlap.status, 403);
  const n = (await d.api('GET', '/networks/parity-v6')).body;
  assert.deepEqual([n.EnableIPv6, n.IPAM.Config], [true, [{ Subnet: subnet(5), Gateway: subnet(5).replace('.0/24', '.1') }, { Subnet: v6 }]]);
  const a = ok(await docker('run', '-d', '--name', 'parity-v6a', '--network', 'parity-v6', '--ip6', '2001:db8:63:1::f00d', 'busybox', 'sleep', '300'), 'run --ip6');
  const b = ok(await docker('run', '-d', '--network', 'parity-v6', 'busybox', 'sleep', '300'), 'run');
  const netA = (await d.api('GET', `/containers/${a}/json`)).body.NetworkSettings.Networks['parity-v6'];
  assert.deepEqual([netA.IPAMConfig, netA.GlobalIPv6Address, netA.GlobalIPv6PrefixLen, netA.IPv6Gateway],
    [{ IPv6Address: '2001:db8:63:1::f00d' }, '2001:db8:63:1::f00d', 64, '2001:db8:63:1::1']);
  assert.equal((await d.api('GET', `/containers/${b}/json`)).body.NetworkSettings.Networks['parity-v6'].GlobalIPv6Address, '2001:db8:63:1::2');
  assert.match(ok(await docker('exec', a, 'ip', '-6', 'route'), 'routes'), /default via 2001:db8:63:1::1 dev eth0/);
  ok(await docker('exec', b, 'ping6', '-c1', '-W2', '2001:db8:63:1::f00d'), 'ping6 between containers');
  ok(await docker('exec', b, 'ping6', '-c1', '-W2', '2001:db8:63:1::1'), 'ping6 to the gateway');
  assert.match(ok(await docker('exec', b, 'nslookup', '-type=AAAA', 'parity-v6a'), 'AAAA'), /2001:db8:63:1::f00d/);
  ok(await docker('rm', '-f', a, b), 'rm');
  ok(await docker('network', 'rm', 'parity-v6'), 'network rm');
  // --ip-range and --gateway of the IPv6 pool
  ok(await docker('network', 'create', '--ipv6', '--subnet', subnet(6), '--subnet', '2001:db8:63:3::/64', '--ip-range', '2001:db8:63:3::100/120',
    '--gateway', '2001:db8:63:3::ffff', 'parity-v6r'), 'create with an IPv6 range');
  assert.deepEqual((await d.api('GET', '/networks/parity-v6r')).body.IPAM.Config[1], { Subnet: '2001:db8:63:3::/64', IPRange: '2001:db8:63:3::100/120', Gateway: '2001:db8:63:3::ffff' });
  const r = ok(await docker('run', '-d', '--network', 'parity-v6r', 'busybox', 'sleep', '300'), 'run in the range');
  const netR = (await d.api('GET', `/containers/${r}/json`)).body.NetworkSettings.Networks['parity-v6r'];
  assert.deepEqual([netR.GlobalIPv6Address, netR.IPv6Gateway], ['2001:db8:63:3::100', '2001:db8:63:3::ffff']);
  ok(await docker('rm', '-f', r), 'rm');
  ok(await docker('network', 'rm', 'parity-v6r'), 'network rm');
  // a v6 pool without EnableIPv6: kept and shown, the --ip6 echoed, no address assigned (as dockerd 20.10)
  assert.equal((await d.api('POST', '/networks/create', { Name: 'parity-pool6', IPAM: { Config: [{ Subnet: '2001:db8:63:2::/64' }] } })).status, 201);
  const c = await create({ Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'parity-pool6' }, NetworkingConfig: { EndpointsConfig: { 'parity-pool6': { IPAMConfig: { IPv6Address: '2001:db8:63:2::5' } } } } });
  await d.api('POST', `/containers/${c}/start`);
  const netC = (await d.api('GET', `/containers/${c}/json`)).body.NetworkSettings.Networks['parity-pool6'];
  assert.deepEqual([netC.IPAMConfig, netC.GlobalIPv6Address], [{ IPv6Address: '2001:db8:63:2::5' }, '']);
  await d.api('DELETE', `/containers/${c}?force=1`);
  assert.equal((await d.api('DELETE', '/networks/parity-pool6')).status, 204);
});

test('Config.MacAddress (API < 1.44) is the primary endpoint\'s address', async () => {
  const id = await create({ Cmd: ['sleep', '300'], MacAddress: '02:42:ac:11:00:0a' }, undefined, '/v1.41');
  await d.api('POST', `/containers/${id}/start`);
  const i = (await d.api('GET', `/v1.41/containers/${id}/json`)).body;
  assert.deepEqual([i.Config.MacAddress, i.NetworkSettings.MacAddress], ['02:42:ac:11:00:0a', '02:42:ac:11:00:0a']);
  await d.api('DELETE', `/containers/${id}?force=1`);
});

test('--dns, --dns-search, --dns-option reach resolv.conf (default bridge) and the embedded DNS (user network)', async () => {
  const plain = ok(await docker('run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'ndots:3', 'busybox', 'cat', '/etc/resolv.conf'), 'run --dns');
  assert.deepEqual(plain.split('\n').filter((l) => /^(nameserver|search|options)/.test(l)), ['search example.test', 'nameserver 192.0.2.53', 'options ndots:3']);
  ok(await docker('network', 'create', '--subnet', subnet(4), 'parity-dns'), 'network create');
  const gw = subnet(4).replace('.0/24', '.1');
  const user = ok(await docker('run', '--rm', '--network', 'parity-dns', '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'timeout:1', 'busybox', 'cat', '/etc/resolv.conf'), 'run on a user network');
  assert.deepEqual(user.split('\n').filter(Boolean), ['search example.test', `nameserver ${gw}`, 'options timeout:1']);
  const none = ok(await docker('run', '--rm', '--dns-search', '.', 'busybox', 'cat', '/etc/resolv.conf'), 'search .');
  assert.doesNotMatch(none, /^search/m);
  ok(await docker('network', 'rm', 'parity-dns'), 'network rm');
});

// ---- builds

test('build: -f ../elsewhere/Dockerfile through the docker CLI; .dockerignore also drops the Dockerfile and itself', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-parity-build-'));
  try {
    mkdirSync(path.join(dir, 'work/ctx'), { recursive: true });
    mkdirSync(path.join(dir, 'elsewhere'));
    writeFileSync(path.join(dir, 'work/ctx/file.txt'), 'hello');
    writeFileSync(path.join(dir, 'work/ctx/.dockerignore'), '.dockerignore\n');
    writeFileSync(path.join(dir, 'elsewhere/Dockerfile'), 'FROM busybox\nCOPY . /src\nWORKDIR /src\n');
    // as a user types it, from the directory: the relative -f and context are the docker CLI's to resolve
    const b = await runCmd('bash', ['-c', `cd ${dir}/work && docker build -q -f ../elsewhere/Dockerfile -t parity-outside ctx`],
      { env: { DOCKER_HOST: d.host, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: path.join(d.dir, 'docker-config') }, timeoutMs: 120_000 });
    assert.equal(b.code, 0, b.stderr + b.stdout);
    assert.equal(ok(await docker('run', '--rm', 'parity-outside', 'ls', '-a'), 'ls'), '.\n..\nfile.txt');
    writeFileSync(path.join(dir, 'work/ctx/Dockerfile'), 'FROM busybox\nCOPY . /src\n');
    writeFileSync(path.join(dir, 'work/ctx/.dockerignore'), 'Dockerfile\n.dockerignore\n');
    const b2 = await d.docker(['build', '-q', '-t', 'parity-ignored', path.join(dir, 'work/ctx')], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    assert.equal(b2.code, 0, b2.stderr + b2.stdout);
    assert.equal(ok(await docker('run', '--rm', 'parity-ignored', 'ls', '-a', '/src'), 'ls'), '.\n..\nfile.txt');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await docker('rmi', '-f', 'parity-outside', 'parity-ignored');
  }
});

/** POST /build with a Dockerfile-only context; returns the decoded JSON stream. */
async function build(dockerfile: string, query: string): Promise<Array<Record<string, any>>> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile' }, dockerfile);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  const body = Buffer.concat(chunks);
  const text = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(d.socket);
    sock.write(`POST /build?${query} HTTP/1.1\r\nHost: berth\r\nContent-Type: application/x-tar\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    sock.write(body);
    let out = '';
    sock.on('data', (c) => { out += c; });
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
  const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
  // chunked transfer encoding: the JSON objects are the lines that parse
  return payload.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

test('build: RUN stderr in red as dockerd streams it; cachefrom limits the cache; extrahosts reach RUN', async () => {
  const red = await build('FROM busybox\nRUN echo to-stderr >&2\n', 't=parity-red&nocache=1');
  assert.ok(red.some((m) => m.stream === '\x1b[91mto-stderr\n\x1b[0m'), JSON.stringify(red));

  const df = 'FROM busybox\nENV FOO=bar\nRUN touch baz\nRUN touch bax\n';
  await build(df, 't=parity-cache1');
  const hits = (ms: Array<Record<string, any>>) => ms.filter((m) => String(m.stream ?? '').includes('Using cache')).length;
  assert.equal(hits(await build(df, `t=parity-cache2&cachefrom=${encodeURIComponent('["parity-cache1"]')}`)), 3);
  assert.equal(hits(await build(df, `t=parity-cache3&cachefrom=${encodeURIComponent('["nosuchtag"]')}`)), 0);

  const hosts = await build('FROM busybox\nRUN ping -c1 -W1 hello.world.test\nRUN cp /etc/hosts /hosts-file\n', 't=parity-hosts&extrahosts=hello.world.test:127.0.0.1&extrahosts=other.test:127.0.0.2');
  assert.ok(!hosts.some((m) => m.error), JSON.stringify(hosts));
  const file = ok(await docker('run', '--rm', 'parity-hosts', 'cat', '/hosts-file'), 'cat');
  assert.match(file, /^127\.0\.0\.1\thello\.world\.test$/m);
  assert.match(file, /^127\.0\.0\.2\tother\.test$/m);
  await docker('rmi', '-f', 'parity-red', 'parity-cache1', 'parity-cache2', 'parity-cache3', 'parity-hosts');
});

test('build: a client that goes away cancels the build; no step container is left behind', async () => {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile' }, 'FROM busybox\nRUN sleep 60\n');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  const body = Buffer.concat(chunks);
  const sock = net.connect(d.socket);
  sock.write(`POST /build?t=parity-gone&nocache=1 HTTP/1.1\r\nHost: berth\r\nContent-Type: application/x-tar\r\nContent-Length: ${body.length}\r\n\r\n`);
  sock.write(body);
  let out = '';
  sock.on('data', (c) => { out += c; });
  await waitFor(async () => out.includes('Running in'), 30_000, 'the RUN step');
  const stepId = /Running in ([0-9a-f]{12})/.exec(out)![1];
  const exists = async () => ((await d.api('GET', '/containers/json?all=1')).body as Array<{ Id: string }>).some((c) => c.Id.startsWith(stepId));
  assert.ok(await exists(), 'the step container exists while it runs');
  sock.destroy();
  await waitFor(async () => !(await exists()), 15_000, 'the step container to go');
  await sleep(200);
  assert.equal((await d.api('GET', '/images/parity-gone/json')).status, 404);
});

// ---- CLI

test('berth --help lists every command once', async () => {
  const help = ok(await d.berth(['--help']), 'help');
  const names = help.split('\n').map((l) => /^ {2}([a-z][a-z-]*)\s{2,}/.exec(l)?.[1]).filter((n): n is string => !!n);
  assert.ok(names.includes('create'));
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
});
