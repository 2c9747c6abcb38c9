// Issue 16 point 2, API abuse: whatever a client sends, the daemon answers 4xx (never 5xx), stays bounded in
// memory and descriptors, and keeps serving others. Malformed and hostile bodies, broken HTTP framing, 1,000 idle
// or slow connections, hostile names, races between clients on one name or one container, and attach/exec
// clients that vanish, spam resizes or never read.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'net';
import { engineKinds, makeEngine, importBusybox, rawExchange, rawStatus, socketRequest, processUsage, LONG, Engine } from './target';
import { sleep, waitFor } from '../helpers/daemon';

const is4xx = (status: number) => status >= 400 && status < 500;

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'abuse');
    before(async () => { await e.start(); await importBusybox(e); });
    after(() => e.stop());

    const post = (path: string, body: string | Buffer, contentType = 'application/json') =>
      socketRequest(e.socket, 'POST', path, Buffer.isBuffer(body) ? body : Buffer.from(body), { 'Content-Type': contentType });

    test('malformed JSON, wrong content types, trailing data and empty bodies answer 4xx', async () => {
      const cases: Array<[string, string, string]> = [
        ['/containers/create', '{"Image":', 'application/json'],
        ['/containers/create', '{"Image":"busybox"} trailing', 'application/json'],
        ['/containers/create', '{"Image":"busybox"}{"Image":"busybox"}', 'application/json'],
        ['/containers/create', '', 'application/json'],
        ['/containers/create', 'null', 'application/json'],
        ['/containers/create', '[]', 'application/json'],
        ['/containers/create', '"busybox"', 'application/json'],
        ['/containers/create', '\u0000\u0001\u0002', 'application/octet-stream'],
        ['/containers/create', '<xml/>', 'text/xml'],
        ['/containers/create', '{"Image":5}', 'application/json'],
        ['/containers/create', '{"Image":"busybox","Env":"A=1"}', 'application/json'],
        ['/containers/create', '{"Image":"busybox","Labels":{"a":[1]}}', 'application/json'],
        ['/containers/create', '{"Image":"busybox","HostConfig":5}', 'application/json'],
        ['/containers/create', '{"Image":"busybox","HostConfig":{"Binds":"x"}}', 'application/json'],
        ['/containers/create', '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":"x"}}}', 'application/json'],
        ['/containers/create', '{"Image":"busybox","HostConfig":{"Memory":"lots"}}', 'application/json'],
        ['/networks/create', '{"Name":5}', 'application/json'],
        ['/networks/create', '{"Name":"n","IPAM":{"Config":"x"}}', 'application/json'],
        ['/volumes/create', '{"Name":["x"]}', 'application/json'],
        ['/volumes/create', '{"Name":"v","Labels":"x"}', 'application/json'],
        ['/exec/nonexistent/start', '{"Detach":', 'application/json'],
        ['/images/create?fromImage=', '', 'application/json'],
        ['/build', 'not a tar at all', 'application/x-tar'],
        ['/images/load', 'not a tar at all', 'application/x-tar'],
      ];
      const bad: string[] = [];
      for (const [path, body, ct] of cases) {
        const r = await post(path, body, ct);
        // a build/load of garbage may answer 200 with an error in the JSON stream (docker does): never a 5xx
        if (r.status >= 500 || (r.status < 400 && !/error/i.test(r.text))) bad.push(`${path} ${JSON.stringify(body).slice(0, 60)} → ${r.status} ${r.text.slice(0, 120)}`);
      }
      assert.deepEqual(bad, [], `answers that are not 4xx:\n${bad.join('\n')}`);
      assert.equal((await e.api('GET', '/_ping')).status, 200);
    });

    test('a create body with 100,000 nested brackets answers 400, not 500', async () => {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      for (const body of [deep, `{"Image":"busybox","Labels":{"a":${deep}}}`, `{"Image":"busybox","Foo":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`]) {
        const r = await post('/containers/create', body);
        assert.ok(is4xx(r.status), `nested body → ${r.status} ${r.text.slice(0, 200)}`);
      }
    });

    test('broken HTTP framing answers a bounded 4xx: bad chunk sizes, Content-Length with Transfer-Encoding, 16 KiB headers, huge bodies', async () => {
      const answers: Record<string, string> = {
        badChunk: await rawExchange(e.socket, 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'),
        hugeChunk: await rawExchange(e.socket, 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n'),
        both: await rawExchange(e.socket, 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'),
        twoLengths: await rawExchange(e.socket, 'POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}'),
        bigHeader: await rawExchange(e.socket, `GET /_ping HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(2 << 20)}\r\n\r\n`),
        garbage: await rawExchange(e.socket, '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http at all\r\n\r\n'),
      };
      const bad = Object.entries(answers).filter(([, a]) => !is4xx(rawStatus(a))).map(([k, a]) => `${k}: ${a.slice(0, 100) || '(connection closed without an answer)'}`);
      assert.deepEqual(bad, [], `framing answers that are not 4xx:\n${bad.join('\n')}`);
      // a body announced far beyond any JSON endpoint's need is refused before it is sent
      const huge = await rawExchange(e.socket, `POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * 2 ** 30}\r\n\r\n{"Image":`);
      if (kind === 'berth') assert.equal(rawStatus(huge), 413, huge.slice(0, 200));
      // and one really sent (64 MiB) too, with the daemon's memory bounded
      const rss0 = processUsage(e.pid()).rssKiB;
      const r = await post('/containers/create', Buffer.alloc(64 << 20, 0x20)).catch((err) => ({ status: 413, text: String(err) }));
      assert.ok(is4xx(r.status) || kind === 'dockerd', `64 MiB body → ${r.status}`);
      if (kind === 'berth') assert.ok(processUsage(e.pid()).rssKiB - rss0 < 48 << 10, 'a refused body must not be held in memory');
      assert.equal((await e.api('GET', '/_ping')).status, 200);
    });

    test('1,000 idle or slow connections: /_ping still answers, and their descriptors go away with them', async () => {
      const base = processUsage(e.pid()).fds;
      const conns: net.Socket[] = [];
      const n = 1000;
      for (let i = 0; i < n; i++) {
        const s = net.createConnection(e.socket);
        s.on('error', () => undefined);
        conns.push(s);
        // a third say nothing, a third send half a request line, a third half a header block (slowloris)
        if (i % 3 === 1) s.write('GET /_pi');
        if (i % 3 === 2) s.write('POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Len');
        if (i % 100 === 99) await sleep(10);
      }
      await sleep(500);
      const t0 = Date.now();
      const ping = await socketRequest(e.socket, 'GET', '/_ping', undefined, {}, 10_000);
      assert.equal(ping.status, 200);
      assert.ok(Date.now() - t0 < 5000, `/_ping took ${Date.now() - t0} ms beside ${n} idle connections`);
      const info = await socketRequest(e.socket, 'GET', '/info', undefined, {}, 15_000);
      assert.equal(info.status, 200);
      for (const s of conns) s.destroy();
      await waitFor(async () => processUsage(e.pid()).fds <= base + 5, 15_000, `daemon fds back near ${base} (now ${processUsage(e.pid()).fds})`);
    });

    test('names with ../, %2e%2e, NUL or 10 KB of text are refused', async () => {
      const names = ['../../etc', '..%2f..%2fetc', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc', 'a%00b', '%00', 'a'.repeat(10_000), '.', '..', 'a%2fb', 'a%20b'];
      const bad: string[] = [];
      for (const name of names) {
        const c = await socketRequest(e.socket, 'POST', `/containers/create?name=${name}`, { Image: 'busybox' });
        if (!is4xx(c.status)) bad.push(`container ${name.slice(0, 30)} → ${c.status}`);
        const decoded = (() => { try { return decodeURIComponent(name); } catch { return name; } })();
        const v = await socketRequest(e.socket, 'POST', '/volumes/create', { Name: decoded });
        if (!is4xx(v.status)) bad.push(`volume ${JSON.stringify(decoded.slice(0, 30))} → ${v.status}`);
        const nw = await socketRequest(e.socket, 'POST', '/networks/create', { Name: decoded });
        if (decoded === 'a b') {
          // dockerd takes any non-blank network name ("test 01"), and so does berth: a space is no path trick
          if (nw.status !== 201) bad.push(`network "a b" → ${nw.status}, dockerd creates it`);
          else await socketRequest(e.socket, 'DELETE', `/networks/${(nw.body as { Id: string }).Id}`);
        } else if (!is4xx(nw.status)) bad.push(`network ${JSON.stringify(decoded.slice(0, 30))} → ${nw.status}`);
        // a path parameter with the same text: not found or refused, never a 5xx
        const g = await socketRequest(e.socket, 'GET', `/containers/${name}/json`);
        if (g.status >= 500) bad.push(`GET /containers/${name.slice(0, 30)}/json → ${g.status}`);
      }
      const escape = await socketRequest(e.socket, 'GET', '/containers/%E0%A4%A/json');
      if (!is4xx(escape.status)) bad.push(`malformed escape → ${escape.status}`);
      const re = await socketRequest(e.socket, 'GET', `/containers/json?all=1&filters=${encodeURIComponent('{"name":["("]}')}`);
      if (re.status >= 500) bad.push(`bad name regexp filter → ${re.status}`);
      assert.deepEqual(bad, [], bad.join('\n'));
      const list = (await e.api('GET', '/containers/json?all=1')).body as Array<{ Names: string[] }>;
      assert.equal(list.length, 0, `containers were created: ${JSON.stringify(list.map((c) => c.Names))}`);
    });

    test('50 parallel creates with one name: exactly one 201, the rest 409', async () => {
      const answers = await Promise.all(Array.from({ length: 50 }, () => socketRequest(e.socket, 'POST', '/containers/create?name=samename', { Image: 'busybox', Cmd: ['true'] })));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses: ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 409).length, 49, `statuses: ${statuses.join(',')}`);
      const list = (await e.api('GET', '/containers/json?all=1')).body as Array<{ Id: string; Names: string[] }>;
      assert.equal(list.filter((c) => c.Names.includes('/samename')).length, 1);
      await e.api('DELETE', '/containers/samename?force=1');
    });

    test('parallel rm -f, start and rename on one container end consistent', async () => {
      const rounds = LONG ? 20 : 5;
      for (let round = 0; round < rounds; round++) {
        const c = await e.api('POST', `/containers/create?name=race${round}`, { Image: 'busybox', Cmd: ['sleep', '60'] });
        assert.equal(c.status, 201);
        const id = c.body.Id as string;
        const ops = await Promise.all([
          e.api('POST', `/containers/${id}/start`),
          e.api('POST', `/containers/${id}/rename?name=renamed${round}`),
          e.api('POST', `/containers/${id}/start`),
          e.api('DELETE', `/containers/${id}?force=1`),
          e.api('POST', `/containers/${id}/rename?name=again${round}`),
          e.api('POST', `/containers/${id}/restart?t=0`),
        ]);
        const fivexx = ops.filter((o) => o.status >= 500 && !/(No such container|is not running|removal|is dead|marked for removal|cannot)/i.test(o.text));
        assert.deepEqual(fivexx.map((o) => `${o.status} ${o.text}`), []);
        // the end state is one of: gone entirely, or present under one name with a sane state
        await sleep(300);
        const inspect = await e.api('GET', `/containers/${id}/json`);
        const list = (await e.api('GET', '/containers/json?all=1')).body as Array<{ Id: string; Names: string[] }>;
        const listed = list.filter((x) => x.Id === id);
        if (inspect.status === 404) {
          assert.equal(listed.length, 0, 'removed but still listed');
        } else {
          assert.equal(listed.length, 1);
          assert.ok(['running', 'exited', 'created'].includes(inspect.body.State.Status), inspect.body.State.Status);
          await e.api('DELETE', `/containers/${id}?force=1`);
        }
        // every name used in the round is free again
        for (const name of [`race${round}`, `renamed${round}`, `again${round}`]) {
          const again = await e.api('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['true'] });
          assert.equal(again.status, 201, `name ${name} not reusable: ${again.text}`);
          await e.api('DELETE', `/containers/${again.body.Id}?force=1`);
        }
      }
    });

    test('attach and exec clients that disconnect, spam resize or never read keep fds and memory flat', async () => {
      const c = await e.api('POST', '/containers/create?name=chatty', {
        Image: 'busybox', Tty: true, OpenStdin: true, AttachStdout: true, AttachStdin: true,
        Cmd: ['sh', '-c', 'while :; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; done'],
      });
      assert.equal(c.status, 201);
      assert.equal((await e.api('POST', '/containers/chatty/start')).status, 204);
      const warm = async () => {
        const s = await hijack(e.socket, 'POST /containers/chatty/attach?stream=1&stdout=1&stdin=1 HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n');
        s.destroy();
      };
      await warm();
      await sleep(1000);
      const base = processUsage(e.pid());
      const rounds = LONG ? 200 : 40;
      // clients that attach and vanish at once, mid-stream
      for (let i = 0; i < rounds; i++) {
        const s = await hijack(e.socket, 'POST /containers/chatty/attach?stream=1&stdout=1&stdin=1 HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n');
        if (i % 2) s.write('some input\n');
        s.destroy();
      }
      // exec sessions whose client disconnects before the process ends
      for (let i = 0; i < rounds / 2; i++) {
        const ex = await e.api('POST', '/containers/chatty/exec', { Cmd: ['sleep', '30'], AttachStdout: true, AttachStderr: true, Tty: i % 2 === 0 });
        assert.equal(ex.status, 201, ex.text);
        const s = await hijack(e.socket, execStart(ex.body.Id, i % 2 === 0));
        s.destroy();
      }
      // resize spam on the container and on an exec
      const ex = await e.api('POST', '/containers/chatty/exec', { Cmd: ['sleep', '30'], Tty: true, AttachStdout: true });
      const execSock = await hijack(e.socket, execStart(ex.body.Id, true));
      execSock.resume();
      for (let i = 0; i < rounds * 10; i++) {
        const h = 10 + (i % 50); const w = 20 + (i % 100);
        const r = await Promise.all([e.api('POST', `/containers/chatty/resize?h=${h}&w=${w}`), e.api('POST', `/exec/${ex.body.Id}/resize?h=${h}&w=${w}`)]);
        for (const x of r) assert.ok(x.status < 500, `resize → ${x.status} ${x.text}`);
      }
      execSock.destroy();
      // a client that attaches and never reads while the container writes as fast as it can
      const stuck = await hijack(e.socket, 'POST /containers/chatty/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n');
      stuck.pause();
      await sleep(LONG ? 20_000 : 5000);
      const during = processUsage(e.pid());
      assert.ok(during.rssKiB - base.rssKiB < 100 << 10, `daemon RSS grew ${(during.rssKiB - base.rssKiB) >> 10} MiB beside a client that never reads`);
      assert.equal((await socketRequest(e.socket, 'GET', '/_ping', undefined, {}, 5000)).status, 200);
      stuck.destroy();
      await e.api('DELETE', '/containers/chatty?force=1');
      // descriptors back to where they were (the container's own ones went with it)
      await waitFor(async () => processUsage(e.pid()).fds <= base.fds + 3, 20_000, `daemon fds back near ${base.fds} (now ${processUsage(e.pid()).fds})`);
      const end = processUsage(e.pid());
      assert.ok(end.rssKiB - base.rssKiB < 100 << 10, `daemon RSS grew ${(end.rssKiB - base.rssKiB) >> 10} MiB`);
    });
  });
}

/** An upgrading exec start request. */
function execStart(id: string, tty: boolean): string {
  const body = JSON.stringify({ Detach: false, Tty: tty });
  return `POST /exec/${id}/start HTTP/1.1\r\nHost: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** Sends an upgrading request and resolves once the 101 (or any status line) arrived. */
function hijack(socket: string, request: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socket);
    let got = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer to ${request.split('\r\n')[0]}`)); }, 30_000);
    s.on('error', reject);
    s.on('connect', () => s.write(request));
    const onData = (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.removeListener('data', onData);
        clearTimeout(timer);
        s.pause();
        if (!/^HTTP\/1\.1 (101|200)/.test(got)) { s.destroy(); reject(new Error(`no upgrade: ${got.slice(0, 200)}`)); return; }
        resolve(s);
      }
    };
    s.on('data', onData);
  });
}
