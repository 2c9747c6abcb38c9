// Published and unpublished ports seen from a neighbour (CVE-2020-13401 class, and kube-proxy's CVE-2020-8558): a
// network namespace routed through the host stands for another machine on the host's link. A port published on
// 127.0.0.1 answers neither on the host's address nor to packets sent to 127.0.0.1 from outside; a container's
// unpublished port is not reachable by routing straight to the container's address; a port published on all
// addresses is (the control). All of it again after the daemon restarts and restores its rules.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { engineKinds, makeEngine, importBusybox, Engine } from './target';
import { runCmd, RunResult, sleep } from '../helpers/daemon';

const ok = (r: RunResult, what: string) => { assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`); return r.stdout; };

const tag = String(process.pid % 10000);
const NS = `bhsec${tag}`;
const HOST_IF = `bhva${tag}`;
const NS_IF = `bhvb${tag}`;
const k = process.pid % 60;
const HOST_IP = `10.66.127.${4 * k + 1}`;
const NS_IP = `10.66.127.${4 * k + 2}`;

const sh = (args: string[]) => runCmd(args[0], args.slice(1));
const inNs = (args: string[], timeoutMs = 15_000) => runCmd('ip', ['netns', 'exec', NS, ...args], { timeoutMs });

/** An HTTP GET from the neighbour namespace; true when a server answered. */
async function reachable(ip: string, port: number): Promise<boolean> {
  const r = await inNs(['busybox', 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${ip} ${port}`], 20_000);
  return /HTTP\/1\.[01] \d{3}/.test(r.stdout);
}

async function setupNeighbour(): Promise<void> {
  await teardownNeighbour();
  ok(await sh(['ip', 'netns', 'add', NS]), 'netns add');
  ok(await sh(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]), 'veth');
  ok(await sh(['ip', 'link', 'set', NS_IF, 'netns', NS]), 'veth into ns');
  ok(await sh(['ip', 'addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF]), 'host addr');
  ok(await sh(['ip', 'link', 'set', HOST_IF, 'up']), 'host up');
  ok(await inNs(['ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF]), 'ns addr');
  ok(await inNs(['ip', 'link', 'set', NS_IF, 'up']), 'ns up');
  ok(await inNs(['ip', 'link', 'set', 'lo', 'up']), 'ns lo');
  // everything else (the containers' subnets) is routed through the host, as a neighbour on its link would
  ok(await inNs(['ip', 'route', 'add', 'default', 'via', HOST_IP]), 'ns route');
  // and 127.0.0.1 too: the neighbour sends packets for the host's loopback to the host (CVE-2020-8558's attack)
  ok(await inNs(['sysctl', '-qw', `net.ipv4.conf.${NS_IF}.route_localnet=1`, 'net.ipv4.conf.all.route_localnet=1']), 'ns route_localnet');
  ok(await inNs(['ip', 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local']), 'ns drop local 127/8');
  ok(await inNs(['ip', 'route', 'add', '127.0.0.1/32', 'via', HOST_IP, 'dev', NS_IF]), 'ns route 127.0.0.1 to the host');
}

async function teardownNeighbour(): Promise<void> {
  await sh(['ip', 'link', 'del', HOST_IF]);
  await sh(['ip', 'netns', 'del', NS]);
}

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'ports');
    const base = 30000 + (process.pid % 5000) * 2;
    const localPort = base; // published on 127.0.0.1 only
    const openPort = base + 1; // published on all addresses (the control)
    before(async () => {
      await e.start();
      await importBusybox(e);
      await setupNeighbour();
    });
    after(async () => {
      try { await teardownNeighbour(); } finally { await e.stop(); }
    });

    const ipOf = async (name: string) => {
      const c = (await e.api('GET', `/containers/${name}/json`)).body;
      return Object.values(c.NetworkSettings.Networks as Record<string, { IPAddress: string }>)[0].IPAddress;
    };

    async function check(when: string): Promise<void> {
      const [local, open, hidden] = await Promise.all([ipOf('local'), ipOf('open'), ipOf('hidden')]);
      // the control: routing works and a port published on all addresses answers the neighbour
      assert.ok(await reachable(HOST_IP, openPort), `${when}: the control port ${openPort} does not answer the neighbour`);
      const leaks: string[] = [];
      if (await reachable(HOST_IP, localPort)) leaks.push(`127.0.0.1-published port ${localPort} answers on the host's address`);
      if (await reachable('127.0.0.1', localPort)) leaks.push(`127.0.0.1-published port ${localPort} answers a neighbour's packets to 127.0.0.1`);
      if (await reachable(hidden, 80)) leaks.push(`unpublished port 80 of ${hidden} answers when routed to directly`);
      if (await reachable(local, 80)) leaks.push(`the 127.0.0.1-published container ${local}:80 answers when routed to directly`);
      if (await reachable(open, 8080)) leaks.push(`the unpublished port 8080 of ${open} answers when routed to directly`);
      assert.deepEqual(leaks, [], `${when}:\n${leaks.join('\n')}`);
      // and the host itself still reaches the 127.0.0.1 port (nothing was broken to pass the checks above)
      const self = await runCmd('busybox', ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 127.0.0.1 ${localPort}`]);
      assert.match(self.stdout, /HTTP\/1\.[01] \d{3}/, `${when}: the host cannot reach its own 127.0.0.1:${localPort}`);
    }

    test('CVE-2020-13401 class: 127.0.0.1-published and unpublished ports are unreachable from a routed neighbour, also after a daemon restart', async () => {
      const web = ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && httpd -p 80 -h /www && httpd -f -p 8080 -h /www'];
      ok(await e.docker(['run', '-d', '--name', 'local', '-p', `127.0.0.1:${localPort}:80`, 'busybox', ...web]), 'run local');
      ok(await e.docker(['run', '-d', '--name', 'open', '-p', `${openPort}:80`, 'busybox', ...web]), 'run open');
      ok(await e.docker(['run', '-d', '--name', 'hidden', 'busybox', ...web]), 'run hidden');
      await sleep(500);
      await check('after start');
      if (e.restart) {
        await e.restart();
        await sleep(500);
        await check('after a daemon restart');
      }
      await e.docker(['rm', '-f', 'local', 'open', 'hidden']);
    });
  });
}
