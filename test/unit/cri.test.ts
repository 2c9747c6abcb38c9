// The CRI server's pure parts, without root: SPDY/3.1 framing against a client written here from the spec, the
// CNI conf dir and results, the CRI command/env/seccomp rules, critest's summary parsing.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'net';
import * as zlib from 'zlib';
import { mkdtempSync, writeFileSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SpdySession, SPDY3_DICTIONARY, type SpdyStream } from '../../src/cri/streaming/spdy';
import { loadNetwork, podIps } from '../../src/cri/cni';
import { commandLine, environment, seccompChoice } from '../../src/cri/spec';
import { ProfileType, type ContainerConfig } from '../../src/cri/types';
import { parseSummary, skipRegex, CRITEST_SKIPS } from '../cri/skip-list';

/** A minimal SPDY client: SYN_STREAM with a compressed header block, DATA frames, reads SYN_REPLY and DATA. */
class TestClient {
  private deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private buf = Buffer.alloc(0);
  readonly replies: number[] = [];
  readonly data = new Map<number, Buffer[]>();
  readonly fins = new Set<number>();
  constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 8) {
        const len = this.buf.readUInt32BE(4) & 0xffffff;
        if (this.buf.length < 8 + len) break;
        const f = this.buf.subarray(0, 8 + len);
        this.buf = this.buf.subarray(8 + len);
        if (f[0] & 0x80) {
          const type = f.readUInt16BE(2);
          if (type === 2) {
            this.replies.push(f.readUInt32BE(8) & 0x7fffffff);
            this.inflate.write(f.subarray(12)); // keep the context in step
          }
        } else {
          const id = f.readUInt32BE(0) & 0x7fffffff;
          if (!this.data.has(id)) this.data.set(id, []);
          this.data.get(id)!.push(Buffer.from(f.subarray(8)));
          if (f[4] & 1) this.fins.add(id);
        }
      }
    });
  }
  async open(id: number, headers: Record<string, string>): Promise<void> {
    const entries = Object.entries(headers);
    const parts: Buffer[] = [u32(entries.length)];
    for (const [k, v] of entries) parts.push(u32(k.length), Buffer.from(k), u32(v.length), Buffer.from(v));
    const block = await new Promise<Buffer>((resolve) => {
      const out: Buffer[] = [];
      const onData = (d: Buffer) => out.push(d);
      this.deflate.on('data', onData);
      this.deflate.write(Buffer.concat(parts));
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => { this.deflate.off('data', onData); resolve(Buffer.concat(out)); });
    });
    const payload = Buffer.concat([u32(id), u32(0), Buffer.from([0, 0]), block]);
    this.sock.write(Buffer.concat([Buffer.from([0x80, 3, 0, 1, 0]), u24(payload.length), payload]));
  }
  send(id: number, data: Buffer, fin = false): void {
    this.sock.write(Buffer.concat([u32(id), Buffer.from([fin ? 1 : 0]), u24(data.length), data]));
  }
  text(id: number): string { return Buffer.concat(this.data.get(id) ?? []).toString(); }
}
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const u24 = (n: number) => Buffer.from([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
const until = async (cond: () => boolean) => { for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10)); assert.ok(cond()); };

test('SPDY/3.1: streams opened by the client are accepted, data flows both ways, FIN ends a direction; early data is kept', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted: SpdyStream[] = [];
  const received: string[] = [];
  server.on('connection', (sock) => {
    const session = new SpdySession(sock);
    session.on('stream', (s: SpdyStream) => {
      accepted.push(s);
      // consume only later: what arrived meanwhile must not be lost
      setTimeout(() => s.consume((d) => received.push(`${s.headers.streamtype}:${d}`), () => { received.push(`${s.headers.streamtype}:EOF`); s.end(`echo ${s.headers.streamtype}`); }), 50);
    });
  });
  const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const c = new TestClient(sock);
  await c.open(1, { streamtype: 'stdin' });
  await c.open(3, { streamtype: 'error', port: '80' });
  c.send(1, Buffer.from('hello'), true);
  await until(() => c.replies.length === 2 && c.fins.has(1));
  assert.deepEqual(c.replies, [1, 3]);
  assert.deepEqual(accepted.map((s) => [s.id, s.headers.streamtype]), [[1, 'stdin'], [3, 'error']]);
  assert.equal(accepted[1].headers.port, '80');
  assert.deepEqual(received, ['stdin:hello', 'stdin:EOF']);
  assert.equal(c.text(1), 'echo stdin');
  sock.destroy();
  server.close();
});

test('SPDY/3 dictionary: the spec\'s 1423 bytes (length-prefixed words, then the tail)', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(SPDY3_DICTIONARY.readUInt32BE(0), 7);
  assert.equal(SPDY3_DICTIONARY.subarray(4, 11).toString(), 'options');
  assert.ok(SPDY3_DICTIONARY.toString('latin1').endsWith(',*,enq=0.'));
});

test('CNI: the first configuration of the conf dir, .conf files as lists of one; addresses from results', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cni-'));
  try {
    assert.equal(await loadNetwork(dir), undefined);
    writeFileSync(path.join(dir, '20-second.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'second', plugins: [{ type: 'bridge' }] }));
    writeFileSync(path.join(dir, '10-first.conf'), JSON.stringify({ cniVersion: '0.4.0', name: 'first', type: 'bridge', bridge: 'bk0' }));
    writeFileSync(path.join(dir, '05-broken.conflist'), '{ not json');
    const n = await loadNetwork(dir);
    assert.equal(n?.name, 'first');
    assert.deepEqual(n?.confList, { cniVersion: '0.4.0', name: 'first', plugins: [{ type: 'bridge', bridge: 'bk0' }] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(podIps({ ips: [{ address: 'fd00::5/64' }, { address: '10.64.3.7/24' }] }), ['10.64.3.7', 'fd00::5']);
  assert.deepEqual(podIps({ ip4: { ip: '10.1.2.3/16' } }), ['10.1.2.3']);
  assert.deepEqual(podIps(undefined), []);
});

test('CRI command and environment: command replaces the entrypoint, args the cmd; container env over image env', () => {
  const cfg = (c: Partial<ContainerConfig>) => ({ command: [], args: [], envs: [], ...c }) as unknown as ContainerConfig;
  const image = { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/bin', 'A=image'] };
  assert.deepEqual(commandLine(cfg({}), image), ['/entry', 'default']);
  assert.deepEqual(commandLine(cfg({ args: ['x'] }), image), ['/entry', 'x']);
  assert.deepEqual(commandLine(cfg({ command: ['sh'] }), image), ['sh']);
  assert.deepEqual(commandLine(cfg({ command: ['sh'], args: ['-c', 'true'] }), image), ['sh', '-c', 'true']);
  assert.deepEqual(environment(cfg({ envs: [{ key: 'A', value: 'ctr' }, { key: 'B', value: '1' }] }), image), ['PATH=/bin', 'A=ctr', 'B=1']);
});

test('CRI seccomp: nil is unconfined, RuntimeDefault the default profile, Localhost a file; the legacy path forms', () => {
  assert.deepEqual(seccompChoice(null, ''), { kind: 'none' });
  assert.deepEqual(seccompChoice({ profile_type: ProfileType.RuntimeDefault, localhost_ref: '' }, ''), { kind: 'default' });
  assert.deepEqual(seccompChoice({ profile_type: ProfileType.Unconfined, localhost_ref: '' }, ''), { kind: 'none' });
  assert.deepEqual(seccompChoice({ profile_type: ProfileType.Localhost, localhost_ref: '/p/x.json' }, ''), { kind: 'localhost', path: '/p/x.json' });
  assert.throws(() => seccompChoice({ profile_type: ProfileType.Localhost, localhost_ref: 'relative.json' }, ''), /absolute/);
  assert.deepEqual(seccompChoice(null, 'runtime/default'), { kind: 'default' });
  assert.deepEqual(seccompChoice(null, 'localhost/p/y.json'), { kind: 'localhost', path: 'p/y.json' });
});

test('critest summary and skip list', () => {
  const out = 'Ran 77 of 83 Specs in 91.2 seconds\nFAIL! -- 76 Passed | 1 Failed | 0 Pending | 6 Skipped\n  [FAIL] [k8s.io] Security Context bucket [It] runtime should support MaskedPaths\n';
  assert.deepEqual(parseSummary(out), { ran: 77, total: 83, passed: 76, failed: 1, skipped: 6, failures: ['[k8s.io] Security Context bucket [It] runtime should support MaskedPaths'] });
  assert.equal(parseSummary('nothing'), undefined);
  assert.equal(CRITEST_SKIPS.length, 1);
  assert.ok(new RegExp(skipRegex()).test('[k8s.io] Image Manager public image with digest should be pulled and removed [Conformance]'));
  assert.ok(!new RegExp(skipRegex()).test('[k8s.io] Image Manager public image with tag should be pulled and removed [Conformance]'));
});
