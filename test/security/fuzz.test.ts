// Fuzzing (issue 16 point 2) with the seed-corpus mutator in fuzz/mutator.ts, each target for a bounded time
// (BERTH_FUZZ_SECONDS, default 5; BERTH_FUZZ_SEED replays a run): the tar reader, the Dockerfile parser, the filters
// parser and the request router — the router both as a unit and through a live daemon, where no request may get a
// 5xx. A finding is any exception other than the component's own 4xx error (a TypeError, a RangeError, a hang).
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { fuzz, mutateBytes, mutateText, Rng, FUZZ_MS } from './fuzz/mutator';
import { tarOf } from './tar-fixtures';
import { makeEngine, importBusybox, busyboxRootfsTar, socketRequest, Engine } from './target';
import { TarReader, TarHeader } from '../../src/storage/tar-reader';
import { parseDockerfile } from '../../src/build/dockerfile';
import { Router, parseFilters } from '../../src/api/router';
import { compileGlob, parseTimestamp, validateFilters } from '../../src/storage/image-filters';
import { listFilter } from '../../src/engine/volumes/filters';
import { parseJsonBody } from '../../src/api/json-body';
import { validateBody } from '../../src/engine/containers/create';
import { EngineError } from '../../src/common/errors';

/** The component's own refusal: an EngineError with a 4xx status. Anything else is a finding. */
function onlyClientErrors(fn: () => void): void {
  try { fn(); } catch (err) {
    if (err instanceof EngineError && err.status >= 400 && err.status < 500) return;
    throw err;
  }
}

test('fuzz: the tar reader accepts or refuses (400) any bytes, never crashes, never invents content', async () => {
  const corpus = [
    tarOf([{ name: 'a/', type: 'dir' }, { name: 'a/f', body: 'hello' }, { name: 'a/l', type: 'symlink', linkname: '../f' }, { name: 'a/h', type: 'hardlink', linkname: 'a/f' }]),
    tarOf([{ name: 'p/'.repeat(80) + 'long', body: 'x'.repeat(700), pax: { 'SCHILY.xattr.user.k': 'v', mtime: '1.5' } }]),
    tarOf([{ name: 'dev/c', type: 'char', devmajor: 1, devminor: 3 }, { name: 'fifo', type: 'fifo' }, { name: '.wh.x', body: '' }]),
    busyboxRootfsTar().subarray(0, 64 << 10),
  ];
  const n = await fuzz('tar-reader', corpus, mutateBytes, (input) => {
    let content = 0;
    const sink = { entry: (_h: TarHeader) => undefined, data: (p: Buffer) => { content += p.length; }, entryEnd: () => undefined };
    onlyClientErrors(() => {
      const r = new TarReader(sink);
      // in pieces of odd sizes, as a socket delivers them
      for (let off = 0; off < input.length; off += 777) r.push(input.subarray(off, off + 777));
      r.end();
    });
    assert.ok(content <= input.length, `the reader produced ${content} content bytes from ${input.length}`);
  });
  process.stderr.write(`# tar reader: ${n} inputs in ${FUZZ_MS} ms\n`);
});

test('fuzz: the Dockerfile parser accepts or refuses (400) any text, never crashes', async () => {
  const corpus = [
    'FROM busybox AS base\nARG V=1\nENV A=$V B="x y" C=${V:-d}\nRUN echo $A && \\\n  echo b\nCOPY --chown=1:1 --from=base a* /d/\nWORKDIR /w\nUSER 1000:1000\nCMD ["sh","-c","x"]\n',
    '# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch\nLABEL a=b "c d"=e\nEXPOSE 80/tcp 53/udp\nVOLUME ["/v"]\nHEALTHCHECK --interval=5s CMD true\nONBUILD RUN x\nSTOPSIGNAL SIGTERM\nSHELL ["/bin/sh","-c"]\nENTRYPOINT x\n',
    'FROM busybox\nRUN <<EOF\necho heredoc\nEOF\nCOPY <<-END /f\n\tcontent\nEND\nADD --chmod=755 http://127.0.0.1/x /y\nADD a.tar.gz /\n',
    'ARG BASE=busybox\nFROM ${BASE}\nRUN --mount=type=cache,target=/c true\nMAINTAINER x\n',
  ];
  const n = await fuzz('dockerfile', corpus, mutateText, (text) => onlyClientErrors(() => { parseDockerfile(text); }));
  process.stderr.write(`# Dockerfile parser: ${n} inputs\n`);
});

test('fuzz: the filters parser and the filter evaluators accept or refuse (400) any text, never crash', async () => {
  const corpus = [
    '{"status":["running"],"label":["a=b","c"],"name":["^web$"]}',
    '{"dangling":{"true":true},"reference":["busybox:*","*/x"],"before":["busybox"],"since":["2024-01-02T03:04:05Z"],"until":["10m"]}',
    '{"driver":["local"],"label":["com.docker.volume.anonymous"]}',
    '[]', '{"a":5}', '{"label":{"x":false}}',
  ];
  const n = await fuzz('filters', corpus, mutateText, (text) => onlyClientErrors(() => {
    const f = parseFilters(new URLSearchParams({ filters: text }));
    for (const [k, vs] of Object.entries(f)) {
      assert.ok(Array.isArray(vs) && vs.every((v) => typeof v === 'string'), `filter ${k} → ${JSON.stringify(vs)}`);
      for (const v of vs) {
        if (k === 'reference') compileGlob(v).test('docker.io/library/busybox:latest');
        if (k === 'until' || k === 'since') parseTimestamp(v);
      }
    }
    validateFilters(f, ['dangling', 'label', 'before', 'since', 'reference', 'until']);
    const match = listFilter(f, () => false);
    match({ Name: 'v1', Driver: 'local', CreatedAt: '2024-01-02T03:04:05Z', Labels: { a: 'b' }, Options: null } as never);
  }));
  process.stderr.write(`# filters: ${n} inputs\n`);
});

test('fuzz: the router and the JSON body checks answer 4xx for any path, query or body', async () => {
  const router = new Router();
  for (const p of ['/containers/{id}/json', '/images/{name*}/json', '/networks/{id}', '/exec/{id}/start', '/volumes/{name}']) router.add('GET', p, () => 'ok');
  const paths = ['/v1.41/containers/abc/json', '/images/docker.io/library/busybox:latest/json', '/networks/%2e%2e', '/exec/x/start', '/volumes/a%00b', '/v9.99/_ping', '/v1.0/x'];
  const bodies = ['{"Image":"busybox","Env":["A=1"],"HostConfig":{"Binds":["/a:/b"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}', '{"Cmd":"x","Labels":{"a":"b"}}', '[[[]]]'];
  const n1 = await fuzz('router', paths, mutateText, (p) => onlyClientErrors(() => { router.match(new Rng(p.length).pick(['GET', 'POST', 'HEAD', 'DELETE']), p); }));
  const n2 = await fuzz('create-body', bodies, mutateText, (b) => onlyClientErrors(() => { validateBody(parseJsonBody(Buffer.from(b))); }));
  process.stderr.write(`# router: ${n1} paths, create bodies: ${n2}\n`);
});

// The live daemon: requests made of real routes, mutated, none of which may answer 5xx. Routes that reach the
// network (pull, push, login, search, remote builds) or block by design (attach, wait, events, stats, follow) are
// left out of the corpus and of the mutants.
let e: Engine;
before(async () => { e = makeEngine('berth', 'fuzz'); await e.start(); await importBusybox(e); });
after(() => e.stop());

test('fuzz: the live API never answers 5xx to mutated requests', async () => {
  const c = await e.api('POST', '/containers/create?name=fz', { Image: 'busybox', Cmd: ['sleep', '600'] });
  assert.equal(c.status, 201);
  await e.api('POST', '/networks/create', { Name: 'fznet' });
  await e.api('POST', '/volumes/create', { Name: 'fzvol' });
  const requests = [
    'GET /containers/json?all=1&filters={"name":["fz"]}', 'GET /containers/fz/json', 'GET /containers/fz/top', 'GET /containers/fz/changes',
    'HEAD /containers/fz/archive?path=/etc', 'GET /containers/fz/archive?path=/etc/passwd', 'POST /containers/fz/rename?name=fz2',
    'POST /containers/fz/update {"Memory":67108864}', 'POST /containers/fz/kill?signal=KILL', 'POST /containers/fz/start', 'POST /containers/fz/stop?t=0',
    'POST /containers/create?name=fz3 {"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":8388608,"Binds":["fzvol:/v"],"PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1"}]}}}',
    'DELETE /containers/fz3?force=1&v=1', 'POST /containers/prune?filters={"until":["1h"]}',
    'GET /images/json?filters={"reference":["busy*"]}', 'GET /images/busybox/json', 'GET /images/busybox/history', 'POST /images/busybox/tag?repo=fz&tag=1',
    'DELETE /images/fz:1', 'GET /images/get?names=busybox', 'POST /commit?container=fz&repo=fzc&tag=1 {"Labels":{"a":"b"}}',
    'GET /networks?filters={"name":["fz"]}', 'GET /networks/fznet', 'POST /networks/fznet/connect {"Container":"fz"}', 'POST /networks/fznet/disconnect {"Container":"fz","Force":true}',
    'POST /networks/create {"Name":"fznet2","IPAM":{"Config":[{"Subnet":"10.66.125.0/24"}]}}', 'DELETE /networks/fznet2',
    'GET /volumes?filters={"dangling":["true"]}', 'GET /volumes/fzvol', 'POST /volumes/create {"Name":"fzvol2","Labels":{"a":"b"}}', 'DELETE /volumes/fzvol2',
    'POST /containers/fz/exec {"Cmd":["true"],"AttachStdout":true}', 'GET /exec/nope/json', 'GET /info', 'GET /version', 'GET /_ping', 'GET /system/df',
  ];
  const blocked = /\/(attach|wait|events|stats|logs|push|auth|search|distribution|session|build|load)\b|fromImage|follow|\/exec\/[^/]+\/start/i;
  const findings: string[] = [];
  let sent = 0;
  await fuzz('live-api', requests, mutateText, async (line) => {
    const m = /^(\S+) (\S+)(?: (.*))?$/s.exec(line);
    if (!m) return;
    const [, method, rawPath, body] = m;
    if (!['GET', 'POST', 'DELETE', 'HEAD', 'PUT'].includes(method) || blocked.test(rawPath) || !rawPath.startsWith('/')) return;
    // a path the HTTP client refuses to send (spaces, control characters) says nothing about the daemon
    if (/[\s\x00-\x1f\x7f]/.test(rawPath)) return;
    const path = rawPath.replace(/[^\x21-\x7e]/g, (ch) => encodeURIComponent(ch));
    sent++;
    const r = await socketRequest(e.socket, method, path, body === undefined ? undefined : Buffer.from(body), {}, 30_000).catch((err) => ({ status: 599, text: String(err) }));
    // 500 is docker's status for a runtime failure of a valid request (start of a container whose image lacks the
    // command); it must come with the runtime's message, never a JavaScript error
    if (r.status >= 500 && /TypeError|RangeError|ReferenceError|SyntaxError|is not a function|Cannot read prop|Maximum call stack|undefined/.test(r.text)) findings.push(`${method} ${path} ${body ?? ''} → ${r.status} ${r.text.slice(0, 200)}`);
    else if (r.status === 599) findings.push(`${method} ${path} → ${r.text}`);
  }, { ms: Math.max(FUZZ_MS, 5000) });
  assert.deepEqual(findings, [], findings.join('\n'));
  assert.equal((await e.api('GET', '/_ping')).status, 200);
  process.stderr.write(`# live API: ${sent} requests\n`);
  assert.ok(!/TypeError|RangeError|is not a function|Cannot read prop/.test(e.log()), `the daemon logged a JavaScript error:\n${e.log().split('\n').filter((l) => /TypeError|RangeError|is not a function|Cannot read prop/.test(l)).slice(0, 5).join('\n')}`);
});

