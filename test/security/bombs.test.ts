// Decompression bombs and huge inputs (CVE-2017-14992, CVE-2023-25153): a small gzip layer that expands past the
// disk, a zero-filled import bigger than the disk, oversized manifests, configs and index files. Streamed and
// bounded: a clean "no space left on device" or size error, partial layers removed, the data root back to what it
// held, the daemon up. The engine's data root is a small tmpfs, so no case can fill the machine's disk; the short
// versions (CI) expand to 1 GiB, BERTH_SECURITY_LONG=1 to 100 GB (bomb) and 8 GB (import).
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'crypto';
import { execFileSync } from 'child_process';
import { mkdirSync } from 'fs';
import * as zlib from 'zlib';
import { engineKinds, makeEngine, importBusybox, Engine, socketRequest, LONG } from './target';
import { runCmd } from '../helpers/daemon';
import { tarOf, dockerArchive, sha256 } from './tar-fixtures';
import { HostileRegistry } from './hostile-registry';

const GiB = 2 ** 30;
const DATA_ROOT_SIZE = '320m';

/** A tar holding one file of `size` zero bytes, gzip-compressed (~1 MiB per GiB), with the digest of the
 * uncompressed tar (the diff id). Built in 256 MiB gzip members (every gzip reader, Go's and ours included, reads
 * concatenated members as one stream): never `size` bytes in memory. */
function zeroBomb(size: number): { gz: Buffer; diffId: string } {
  const hash = createHash('sha256');
  const members: Buffer[] = [];
  const zeros = Buffer.alloc(1 << 20);
  const header = zeroTarHeader(size);
  hash.update(header);
  let pending: Buffer[] = [header];
  let pendingSize = header.length;
  const flush = () => { members.push(zlib.gzipSync(Buffer.concat(pending), { level: 9 })); pending = []; pendingSize = 0; };
  for (let done = 0; done < size;) {
    const n = Math.min(zeros.length, size - done);
    const b = n === zeros.length ? zeros : zeros.subarray(0, n);
    hash.update(b);
    pending.push(b);
    pendingSize += n;
    done += n;
    if (pendingSize >= 256 << 20) flush();
  }
  const trailer = Buffer.alloc((512 - (size % 512)) % 512 + 1024);
  hash.update(trailer);
  pending.push(trailer);
  flush();
  return { gz: Buffer.concat(members), diffId: `sha256:${hash.digest('hex')}` };
}

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'bombs');
    const reg = new HostileRegistry();
    let baseline = 0;
    before(async () => {
      // a small tmpfs data root: a bomb can only fill this
      mkdirSync(e.dataRoot, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DATA_ROOT_SIZE},mode=0710`, `bhsec-${kind}`, e.dataRoot]);
      await e.start();
      await importBusybox(e);
      await reg.start();
      baseline = used(e.dataRoot);
    });
    after(async () => {
      await reg.stop();
      await e.stop();
      await runCmd('umount', ['-l', e.dataRoot]);
    });

    const used = (dir: string) => Number(execFileSync('df', ['-B1', '--output=used', dir], { encoding: 'utf8' }).trim().split('\n')[1]);
    const settled = async () => {
      // what a failure left must be gone: the data root holds what it held before (a little slack for metadata)
      const deadline = Date.now() + 20_000;
      while (used(e.dataRoot) > baseline + (8 << 20) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      assert.ok(used(e.dataRoot) <= baseline + (8 << 20), `the data root holds ${((used(e.dataRoot) - baseline) / 2 ** 20).toFixed(1)} MiB more than before`);
      assert.equal((await e.api('GET', '/_ping')).status, 200, 'the daemon is not answering');
    };

    test('CVE-2017-14992: a small gzip layer that expands past the disk fails cleanly through pull and load', async () => {
      const size = LONG ? 100 * 10 ** 9 : GiB;
      const bomb = zeroBomb(size);
      assert.ok(bomb.gz.length < size / 500, `the bomb is ${bomb.gz.length} bytes`);
      const blob = reg.addBlob(bomb.gz);
      reg.addImage('bomb/gzip', '1', [{ blob }], { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [bomb.diffId] } });
      const t0 = Date.now();
      const pull = await e.docker(['pull', `${reg.host}/bomb/gzip:1`], { timeoutMs: LONG ? 3_600_000 : 300_000 });
      assert.notEqual(pull.code, 0, 'the bomb was pulled into a data root smaller than it');
      assert.match(pull.stderr + pull.stdout, /no space left on device|too large|exceeds|ENOSPC/i, `pull error: ${pull.stderr}`);
      await settled();
      const load = await socketRequest(e.socket, 'POST', '/images/load?quiet=1', dockerArchive({ layers: [bomb.gz], diffIds: [bomb.diffId], tag: 'bomb/load:1' }), { 'Content-Type': 'application/x-tar' });
      assert.ok(load.status < 500 || /no space/i.test(load.text), `load: ${load.status} ${load.text.slice(0, 300)}`);
      assert.match(load.text, /no space left on device|too large|exceeds|ENOSPC/i, `load: ${load.text.slice(0, 300)}`);
      await settled();
      process.stderr.write(`# [${kind}] ${(size / GiB).toFixed(0)} GiB bomb (${(bomb.gz.length / 2 ** 20).toFixed(1)} MiB gzip) refused in ${Date.now() - t0} ms\n`);
    });

    test('CVE-2017-14992: a zero-filled import bigger than the data root fails with a clean error', async () => {
      const size = LONG ? 8 * GiB : GiB;
      // streamed: a tar header, then zeros, never the whole input in memory
      const header = zeroTarHeader(size);
      const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = require('http').request({ socketPath: e.socket, method: 'POST', path: '/images/create?fromSrc=-&repo=bigimport&tag=1', headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } }, (res: any) => {
          let text = '';
          res.on('data', (c: Buffer) => { text += c; });
          res.on('end', () => resolve({ status: res.statusCode, text }));
        });
        req.on('error', (err: Error) => resolve({ status: 0, text: String(err) }));
        const zeros = Buffer.alloc(1 << 20);
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            const n = Math.min(zeros.length, size - sent);
            sent += n;
            if (!req.write(n === zeros.length ? zeros : zeros.subarray(0, n))) { req.once('drain', pump); return; }
          }
          req.end(Buffer.alloc((512 - (size % 512)) % 512 + 1024));
        };
        req.write(header);
        pump();
        void reject;
      });
      assert.ok(r.status === 0 || r.status < 500 || /no space/i.test(r.text), `import: ${r.status} ${r.text.slice(0, 300)}`);
      assert.ok(r.status === 0 || /no space left on device|too large|ENOSPC/i.test(r.text), `import: ${r.status} ${r.text.slice(0, 300)}`);
      assert.equal((await e.api('GET', '/images/bigimport:1/json')).status, 404, 'a partial import became an image');
      await settled();
    });

    test('CVE-2023-25153: oversized manifests, configs and index files are refused with a size error', async () => {
      const huge = Buffer.alloc(64 << 20, 0x20);
      // pull: a 64 MiB manifest, then a manifest whose config blob is 64 MiB
      reg.addManifest('big/manifest', '1', 'application/vnd.docker.distribution.manifest.v2+json', Buffer.concat([Buffer.from('{"schemaVersion":2,"x":"'), huge, Buffer.from('"}')]));
      const p1 = await e.docker(['pull', `${reg.host}/big/manifest:1`], { timeoutMs: 120_000 });
      assert.notEqual(p1.code, 0);
      const cfg = reg.addBlob(Buffer.concat([Buffer.from('{"architecture":"amd64","os":"linux","x":"'), huge, Buffer.from('"}')]));
      reg.addManifest('big/config', '1', 'application/vnd.docker.distribution.manifest.v2+json', Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: cfg.digest, size: cfg.size }, layers: [],
      })));
      const p2 = await e.docker(['pull', `${reg.host}/big/config:1`], { timeoutMs: 120_000 });
      assert.notEqual(p2.code, 0);
      // load: a 64 MiB manifest.json, a 64 MiB config, a 64 MiB index.json
      const layer = tarOf([{ name: 'f', body: 'f' }]);
      const bigManifest = dockerArchive({ layers: [layer], manifest: [{ Config: 'x.json', RepoTags: ['big:1'], Layers: [`${sha256(layer).slice(7)}/layer.tar`], Pad: huge.toString() }] });
      const bigConfig = dockerArchive({ layers: [layer], tag: 'big:2', config: { pad: huge.toString() } });
      const bigIndex = tarOf([{ name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', body: Buffer.concat([Buffer.from('{"schemaVersion":2,"manifests":[],"x":"'), huge, Buffer.from('"}')]) }]);
      const rss0 = Number(/VmRSS:\s+(\d+)/.exec(require('fs').readFileSync(`/proc/${e.pid()}/status`, 'utf8'))?.[1]);
      for (const [what, archive] of [['manifest.json', bigManifest], ['config', bigConfig], ['index.json', bigIndex]] as const) {
        // a daemon may answer and close before the whole archive is sent (EPIPE here): that is a refusal too
        const r = await socketRequest(e.socket, 'POST', '/images/load?quiet=1', archive, { 'Content-Type': 'application/x-tar' })
          .catch((err: NodeJS.ErrnoException) => ({ status: 400, text: `connection closed early: ${err.code}` }));
        assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.ok(r.status >= 400 || /error/i.test(r.text), `an archive with a 64 MiB ${what} was loaded: ${r.text.slice(0, 200)}`);
      }
      const rss1 = Number(/VmRSS:\s+(\d+)/.exec(require('fs').readFileSync(`/proc/${e.pid()}/status`, 'utf8'))?.[1]);
      if (kind === 'berth') assert.ok(rss1 - rss0 < 200 << 10, `the daemon grew ${(rss1 - rss0) >> 10} MiB`);
      await settled();
    });
  });
}

function zeroTarHeader(size: number): Buffer {
  const h = Buffer.from(tarOf([{ name: 'zeros', body: '' }]).subarray(0, 512));
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}
