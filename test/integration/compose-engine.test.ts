// What compose clients need of the engine, through the API: a created container connected again to the network
// it is configured for (docker-compose 1.29 does that before every start) gets the new endpoint configuration,
// also after a disconnect; label filters of container lists and events require every label; health events carry
// the container's labels.
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'http';
import { TestDaemon } from '../helpers/daemon';

const d = new TestDaemon('compose-engine');
before(async () => { await d.start(); await d.loadBusybox(); });
after(async () => { await d.stop(); });

test('a created container: connect to its own network replaces the endpoint config; disconnect then connect works; it starts with it', async () => {
  const subnet = `10.61.${240 + (process.pid % 10)}.0/24`;
  assert.equal((await d.api('POST', '/networks/create', { Name: 'cenet', IPAM: { Config: [{ Subnet: subnet }] } })).status, 201);
  try {
    const c = await d.api('POST', '/containers/create?name=cecont', {
      Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { NetworkMode: 'cenet' },
      NetworkingConfig: { EndpointsConfig: { cenet: { Aliases: ['first'] } } },
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const aliases = async () => (await d.api('GET', '/containers/cecont/json')).body.NetworkSettings.Networks.cenet?.Aliases;
    // already configured for the network: dockerd answers success and takes the new configuration (berth answers
    // connect/disconnect with 204 where dockerd says 200: a status both clients accept, left to the API's owners)
    const success = (s: number) => s === 200 || s === 204;
    const again = await d.api('POST', '/networks/cenet/connect', { Container: 'cecont', EndpointConfig: { Aliases: ['second'] } });
    assert.ok(success(again.status), JSON.stringify(again));
    assert.deepEqual(await aliases(), ['second']);
    // docker-compose 1.29's sequence: disconnect, then connect with its aliases
    assert.ok(success((await d.api('POST', '/networks/cenet/disconnect', { Container: 'cecont' })).status));
    assert.equal((await d.api('GET', '/containers/cecont/json')).body.HostConfig.NetworkMode, 'cenet', 'the mode stays');
    const re = await d.api('POST', '/networks/cenet/connect', { Container: 'cecont', EndpointConfig: { Aliases: ['third', 'svc'] } });
    assert.ok(success(re.status), JSON.stringify(re));
    assert.equal((await d.api('POST', '/containers/cecont/start')).status, 204);
    const info = (await d.api('GET', '/containers/cecont/json')).body;
    assert.ok(info.NetworkSettings.Networks.cenet.IPAddress.startsWith(subnet.slice(0, -4)), JSON.stringify(info.NetworkSettings.Networks));
    assert.deepEqual(info.NetworkSettings.Networks.cenet.Aliases.filter((a: string) => a === 'third' || a === 'svc').sort(), ['svc', 'third']);
    // a running container: connecting again is refused as by dockerd
    const dup = await d.api('POST', '/networks/cenet/connect', { Container: 'cecont' });
    assert.equal(dup.status, 403);
    // the aliases resolve for a neighbour
    const r = await d.berth(['run', '--rm', '--network', 'cenet', 'busybox', 'nslookup', 'third']);
    assert.match(r.stdout, /Address: 10\.61\./, r.stderr);
  } finally {
    await d.api('DELETE', '/containers/cecont?force=1');
    await d.api('DELETE', '/networks/cenet');
  }
});

test('label filters: every label must match (container lists and events); health events carry the labels', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  const mk = async (name: string, labels: Record<string, string>, health = false) => {
    const r = await d.api('POST', `/containers/create?name=${name}`, {
      Image: 'busybox', Cmd: ['sleep', '300'], Labels: labels,
      ...(health ? { Healthcheck: { Test: ['CMD', 'true'], Interval: 200_000_000 } } : {}),
    });
    assert.equal(r.status, 201);
  };
  await mk('lf1', { 'com.docker.compose.project': 'p1', 'com.docker.compose.oneoff': 'False' }, true);
  await mk('lf2', { 'com.docker.compose.project': 'p2', 'com.docker.compose.oneoff': 'False' });
  await mk('lf3', { 'com.docker.compose.project': 'p1', 'com.docker.compose.oneoff': 'True' });
  try {
    const list = async (labels: string[]) => ((await d.api('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: labels }))}`)).body as Array<{ Names: string[] }>).map((c) => c.Names[0]).sort();
    assert.deepEqual(await list(['com.docker.compose.project=p1', 'com.docker.compose.oneoff=False']), ['/lf1']);
    assert.deepEqual(await list(['com.docker.compose.project=p1']), ['/lf1', '/lf3']);
    assert.deepEqual(await list(['com.docker.compose.project']), ['/lf1', '/lf2', '/lf3']);
    assert.equal((await d.api('POST', '/containers/lf1/start')).status, 204);
    // wait for the health event, then read the events with two label filters
    for (let i = 0; i < 100 && (await d.api('GET', '/containers/lf1/json')).body.State.Health?.Status !== 'healthy'; i++) await new Promise((r) => setTimeout(r, 100));
    const until = Math.floor(Date.now() / 1000) + 1;
    const filters = encodeURIComponent(JSON.stringify({ label: ['com.docker.compose.project=p1', 'com.docker.compose.oneoff=False'] }));
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ socketPath: d.socket, path: `/events?since=${since}&until=${until}&filters=${filters}` }, (res) => {
        let t = '';
        res.on('data', (c) => { t += c; });
        res.on('end', () => resolve(t));
      }).on('error', reject);
    });
    const events = body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => e.Actor.Attributes.name === 'lf1'), events.map((e) => e.Actor.Attributes.name).join(' '));
    const health = events.find((e) => e.Action === 'health_status: healthy');
    assert.ok(health, events.map((e) => e.Action).join(' '));
    assert.equal(health!.Actor.Attributes['com.docker.compose.project'], 'p1');
  } finally {
    for (const n of ['lf1', 'lf2', 'lf3']) await d.api('DELETE', `/containers/${n}?force=1`);
  }
});
