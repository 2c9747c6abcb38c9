// The first page: index.html with the containers list written in by the server (the head first, then the data
// block), and the page's side of it (taking the block once, keeping unchanged containers' objects).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { PassThrough } from 'stream';
import { dataBlock, FIRST_DATA_ID, FIRST_DATA_MARK, scriptSafeJson, serveFirstPage } from '../../src/desktop/server/first-page';
import { FIRST_DATA_ID as PAGE_DATA_ID, mergeList, takeFirstList } from '../../src/desktop/web/first-list';
import type { Client } from '../../src/client';
import type { ContainerSummary } from '../../src/client/types';

const HTML = `<!doctype html><head><script type="module" src="/main.js"></script></head><body><div id="app"></div>${FIRST_DATA_MARK}\n</body></html>`;
const LIST = [{ Id: 'a1', Names: ['/web'], Labels: { note: '</script><script>alert(1)</script><!--' }, State: 'running' }];

/** An engine whose list answers after `delayMs` (or fails). */
function fakeEngine(delayMs: number, fail = false): Client & { asked: number } {
  const c = {
    asked: 0,
    async request(method: string, p: string, o: { query?: Record<string, string> }) {
      c.asked++;
      assert.equal(method, 'GET');
      assert.equal(p, '/containers/json');
      assert.deepEqual(o.query, { all: '1' });
      await new Promise((r) => setTimeout(r, delayMs));
      if (fail) throw new Error('connect ECONNREFUSED');
      const s = new PassThrough();
      s.end(JSON.stringify(LIST));
      return s;
    },
  };
  return c as unknown as Client & { asked: number };
}

async function withServer(client: Client, waitMs: number, fn: (origin: string) => Promise<void>): Promise<void> {
  const server = http.createServer((req, res) => { serveFirstPage(client, req, res, HTML, waitMs).catch((err) => res.destroy(err)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** The data block's JSON, as the page reads it (the text between the tags). */
function blockOf(html: string): unknown {
  const m = new RegExp(`<script type="application/json" id="${FIRST_DATA_ID}">([^]*?)</script>`).exec(html);
  return m ? JSON.parse(m[1]) : undefined;
}

describe('desktop first page (server)', () => {
  it('keeps the data block a data block whatever the containers hold', () => {
    const json = JSON.stringify(LIST);
    const block = dataBlock(json);
    assert.equal(block.match(/<\/script/gi)?.length, 1, 'only the closing tag');
    assert.ok(!block.includes('<!--'));
    assert.deepEqual(JSON.parse(scriptSafeJson(json)), LIST);
  });

  it('writes the engine list into the HTML, plain or gzip', async () => {
    await withServer(fakeEngine(0), 1000, async (origin) => {
      for (const enc of ['identity', 'gzip']) {
        const res = await fetch(origin + '/', { headers: { 'Accept-Encoding': enc } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-encoding'), enc === 'gzip' ? 'gzip' : null);
        assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
        assert.equal(res.headers.get('cache-control'), 'no-store');
        const html = await res.text();
        assert.deepEqual(blockOf(html), LIST);
        assert.ok(html.startsWith('<!doctype html><head>') && html.endsWith('\n</body></html>'));
        assert.ok(!html.includes(FIRST_DATA_MARK));
      }
    });
  });

  it('sends the head before the engine answers', async () => {
    await withServer(fakeEngine(400), 2000, async (origin) => {
      const t0 = Date.now();
      const res = await fetch(origin + '/', { headers: { 'Accept-Encoding': 'gzip' } });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.ok(Date.now() - t0 < 350, `head after ${Date.now() - t0} ms`);
      assert.match(first, /<script type="module" src="\/main.js">/);
      assert.ok(!first.includes(FIRST_DATA_ID));
      await reader.cancel();
    });
  });

  it('goes without the list when the engine fails or is too slow (the page then asks itself)', async () => {
    for (const [engine, waitMs] of [[fakeEngine(0, true), 1000], [fakeEngine(1500), 200]] as const) {
      await withServer(engine, waitMs, async (origin) => {
        const t0 = Date.now();
        const html = await (await fetch(origin + '/')).text();
        assert.ok(Date.now() - t0 < 1000, `answered after ${Date.now() - t0} ms`);
        assert.equal(blockOf(html), undefined);
        assert.ok(html.endsWith('\n</body></html>'));
        assert.equal(engine.asked, 1);
      });
    }
  });
});

describe('desktop first page (page)', () => {
  it('reads the block the server writes', () => {
    assert.equal(PAGE_DATA_ID, FIRST_DATA_ID);
  });

  it('takes the data block once', () => {
    let el: { textContent: string; removed: boolean } | undefined = { textContent: JSON.stringify(LIST), removed: false };
    const doc = {
      getElementById(id: string) {
        assert.equal(id, FIRST_DATA_ID);
        const e = el;
        return e ? { textContent: e.textContent, remove: () => { e.removed = true; el = undefined; } } : null;
      },
    };
    assert.deepEqual(takeFirstList(doc), LIST);
    assert.equal(takeFirstList(doc), undefined);
    const bad = { getElementById: () => ({ textContent: '{"message":"x"}', remove() {} }) };
    assert.equal(takeFirstList(bad), undefined);
  });

  it('keeps the object of every container that did not change', () => {
    const a = { Id: 'a', Names: ['/a'], State: 'exited', Status: 'Exited (0) 1 minute ago' } as ContainerSummary;
    const b = { Id: 'b', Names: ['/b'], State: 'running', Status: 'Up 1 second' } as ContainerSummary;
    const helper = { Id: 'h', Labels: { 'com.berth.desktop.helper': '1' } } as unknown as ContainerSummary;
    const prev = mergeList(new Map(), [a, b, helper]);
    assert.deepEqual([...prev.keys()], ['a', 'b']);
    const next = mergeList(prev, [{ ...a }, { ...b, Status: 'Up 2 seconds' }, { Id: 'c' } as ContainerSummary]);
    assert.equal(next.get('a'), a);
    assert.notEqual(next.get('b'), b);
    assert.equal(next.get('b')!.Status, 'Up 2 seconds');
    assert.deepEqual([...next.keys()], ['a', 'b', 'c']);
  });
});
