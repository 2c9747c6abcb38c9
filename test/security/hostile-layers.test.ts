// Hostile image layers and archives through every door: docker load, a pull, a build context and ADD's
// auto-extraction. `../x`, absolute names, `s → <host dir>` then `s/file`, hard links to host files, whiteouts that
// climb, a directory replaced by a symlink, device nodes, and manifest.json entries that point outside the archive
// or are not hex: nothing may land or be read outside the layer, and every refusal is a clear 4xx-style error.
import { describe, test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs, existsSync } from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { engineKinds, makeEngine, importBusybox, Engine, HostMarker, socketRequest, busyboxRootfsTar } from './target';
import { HostileEntry, tarOf, dockerArchive, sha256 } from './tar-fixtures';
import { HostileRegistry } from './hostile-registry';

/** The hostile layers, each aimed at the marker directory on the host. */
function hostileLayers(m: HostMarker): Record<string, HostileEntry[]> {
  const up = '../'.repeat(12) + m.dir.slice(1);
  return {
    dotdot: [{ name: `${up}/planted-dotdot`, body: 'x' }],
    absolute: [{ name: `${m.dir}/planted-absolute`, body: 'x' }],
    symlinkThenFile: [{ name: 's', type: 'symlink', linkname: m.dir }, { name: 's/planted-symlink', body: 'x' }],
    relSymlinkThenFile: [{ name: 'r', type: 'symlink', linkname: up }, { name: 'r/planted-relsymlink', body: 'x' }],
    hardlinkOut: [{ name: 'h', type: 'hardlink', linkname: m.file }],
    hardlinkUp: [{ name: 'h2', type: 'hardlink', linkname: `${up}/secret` }],
    whiteoutUp: [{ name: `d/.wh.${up}/secret`, body: '' }, { name: `.wh.${up}`, body: '' }],
    dirThenSymlink: [{ name: 'd/', type: 'dir' }, { name: 'd', type: 'symlink', linkname: m.dir }, { name: 'd/planted-dirswap', body: 'x' }],
    devices: [{ name: 'dev/', type: 'dir' }, { name: 'dev/mem2', type: 'char', devmajor: 1, devminor: 1, mode: 0o666 }, { name: 'dev/vda2', type: 'block', devmajor: 253, devminor: 0, mode: 0o666 }],
    trustedXattr: [{ name: 'x', body: 'x', pax: { 'SCHILY.xattr.trusted.overlay.redirect': m.dir } }],
  };
}

for (const kind of engineKinds()) {
  describe(kind, () => {
    const e: Engine = makeEngine(kind, 'layers');
    const reg = new HostileRegistry();
    let marker: HostMarker;
    let ctx: string;
    const base = gzipSync(busyboxRootfsTar());
    before(async () => {
      await e.start();
      await importBusybox(e);
      await reg.start();
      marker = new HostMarker('layers');
      ctx = await fs.mkdtemp('/tmp/berth-sec-layers-');
    });
    after(async () => {
      try { marker.check(); } finally {
        marker.remove();
        await reg.stop();
        await fs.rm(ctx, { recursive: true, force: true });
        await e.stop();
      }
    });

    /** After each door: the host is untouched, and any image that got in reads nothing of the host. */
    async function checkImage(ref: string, what: string): Promise<void> {
      marker.check();
      const inspect = await e.api('GET', `/images/${encodeURIComponent(ref)}/json`);
      if (inspect.status !== 200) return; // refused: fine
      const r = await e.docker(['run', '--rm', ref, 'sh', '-c', 'cat /h /h2 /s/secret /r/secret /d/secret 2>/dev/null; ls -la /dev/mem2 /dev/vda2 2>&1; head -c 16 /dev/mem2 2>&1 | wc -c'], { timeoutMs: 60_000 });
      assert.ok(!r.stdout.includes(marker.token), `${what}: the image reads the host's marker: ${r.stdout}`);
      marker.check();
    }

    test('hostile layers through docker load leave the host alone', async () => {
      for (const [name, entries] of Object.entries(hostileLayers(marker))) {
        const layer = tarOf(entries);
        const archive = dockerArchive({ layers: [busyboxRootfsTar(), layer], tag: `hostile-load-${name.toLowerCase()}:1` });
        const r = await socketRequest(e.socket, 'POST', '/images/load?quiet=1', archive, { 'Content-Type': 'application/x-tar' });
        assert.ok(r.status < 500, `load ${name}: ${r.status} ${r.text}`);
        await checkImage(`hostile-load-${name.toLowerCase()}:1`, `load ${name}`);
      }
    });

    test('manifest.json pointing outside the archive, or with ids that are not hex, is refused', async () => {
      const layer = busyboxRootfsTar();
      const layerName = `${sha256(layer).slice(7)}/layer.tar`;
      const cases: Record<string, unknown> = {
        configUp: [{ Config: '../../etc/passwd', RepoTags: ['m1:1'], Layers: [layerName] }],
        configAbs: [{ Config: marker.file, RepoTags: ['m2:1'], Layers: [layerName] }],
        layerUp: [{ Config: 'x.json', RepoTags: ['m3:1'], Layers: [`../../..${marker.file}`] }],
        layerAbs: [{ Config: 'x.json', RepoTags: ['m4:1'], Layers: ['/etc/shadow'] }],
        notHex: [{ Config: 'zz!.json', RepoTags: ['m5:1'], Layers: ['not-hex/layer.tar'] }],
        badTag: [{ Config: 'x.json', RepoTags: ['../../etc:1'], Layers: [layerName] }],
        notAList: { Config: 'x.json' },
      };
      for (const [name, manifest] of Object.entries(cases)) {
        const archive = dockerArchive({ layers: [layer], manifest, extra: [{ name: 'x.json', body: JSON.stringify({ rootfs: { type: 'layers', diff_ids: [sha256(layer)] }, config: {} }) }] });
        const r = await socketRequest(e.socket, 'POST', '/images/load?quiet=1', archive, { 'Content-Type': 'application/x-tar' });
        assert.ok(r.status < 500, `${name}: ${r.status} ${r.text}`);
        assert.ok(r.status >= 400 || /error/i.test(r.text), `${name} was loaded: ${r.text}`);
        assert.ok(!r.text.includes(marker.token) && !/root:[^:]*:0:0/.test(r.text), `${name}: a host file's content came back: ${r.text}`);
      }
      marker.check();
      assert.equal((await e.api('GET', '/_ping')).status, 200);
    });

    test('hostile layers through a pull leave the host alone', async () => {
      const baseBlob = reg.addBlob(base);
      for (const [name, entries] of Object.entries(hostileLayers(marker))) {
        const layer = tarOf(entries);
        const blob = reg.addBlob(gzipSync(layer));
        const repo = `hostile/${name.toLowerCase()}`;
        reg.addImage(repo, '1', [{ blob: baseBlob }, { blob }], { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [sha256(busyboxRootfsTar()), sha256(layer)] } });
        const r = await e.docker(['pull', `${reg.host}/${repo}:1`], { timeoutMs: 120_000 });
        assert.ok(!/panic|internal server error/i.test(r.stderr), `pull ${name}: ${r.stderr}`);
        await checkImage(`${reg.host}/${repo}:1`, `pull ${name}`);
      }
      // a config that names more layers than the manifest has, or a diff id that does not match, is refused
      const bad = tarOf([{ name: 'ok', body: 'ok' }]);
      const badBlob = reg.addBlob(gzipSync(bad));
      reg.addImage('hostile/diffid', '1', [{ blob: badBlob }], { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256('something else')] } });
      const r = await e.docker(['pull', `${reg.host}/hostile/diffid:1`], { timeoutMs: 60_000 });
      assert.notEqual(r.code, 0, 'a layer whose diff id does not match was accepted');
    });

    test('hostile build contexts and ADD auto-extraction stay inside the image', async () => {
      for (const [name, entries] of Object.entries(hostileLayers(marker))) {
        // the context itself is hostile (the API takes any tar; the CLI would build a clean one)
        const dockerfile = 'FROM busybox\nCOPY . /ctx/\n';
        const contextTar = tarOf([{ name: 'Dockerfile', body: dockerfile }, ...entries.filter((x) => x.type !== 'char' && x.type !== 'block')]);
        const r1 = await socketRequest(e.socket, 'POST', `/build?t=hostile-ctx-${name.toLowerCase()}`, contextTar, { 'Content-Type': 'application/x-tar' });
        assert.ok(r1.status < 500, `context ${name}: ${r1.status} ${r1.text.slice(0, 300)}`);
        marker.check();
        // ADD of a hostile tar: docker extracts it into the image
        const addTar = tarOf([{ name: 'Dockerfile', body: 'FROM busybox\nADD evil.tar /x/\nADD evil.tar.gz /y/\n' }, { name: 'evil.tar', body: tarOf(entries) }, { name: 'evil.tar.gz', body: gzipSync(tarOf(entries)) }]);
        const r2 = await socketRequest(e.socket, 'POST', `/build?t=hostile-add-${name.toLowerCase()}`, addTar, { 'Content-Type': 'application/x-tar' });
        assert.ok(r2.status < 500, `ADD ${name}: ${r2.status} ${r2.text.slice(0, 300)}`);
        marker.check();
        await checkImage(`hostile-add-${name.toLowerCase()}`, `ADD ${name}`);
      }
      for (const f of ['planted-dotdot', 'planted-absolute', 'planted-symlink', 'planted-relsymlink', 'planted-dirswap']) {
        assert.ok(!existsSync(path.join(marker.dir, f)), `${f} landed on the host`);
      }
    });
  });
}
