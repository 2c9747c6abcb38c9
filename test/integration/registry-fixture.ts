// Shared by the registry tests and bench/registry.ts: start/stop `berth registry serve` on a free port
// with a temporary root, small images made in memory (as blobs or as an OCI layout directory for skopeo).
import { spawn, ChildProcess, execFile } from 'child_process';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { makeTar, gzip } from '../unit/storage-fixtures';

export const REPO = path.resolve(__dirname, '../../..');
export const BERTH = path.join(REPO, 'bin/berth');

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

// Backstop: servers still running when the test process exits (a crash, a timeout) are killed with it.
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const p of live) p.kill('SIGKILL'); });

/** A running `berth registry serve`, found by the "listening on URL" line it logs. */
export class RegistryServer {
  proc?: ChildProcess;
  url = '';
  log = '';

  constructor(readonly root: string, readonly extra: string[] = []) {}

  async start(): Promise<this> {
    const proc = spawn(BERTH, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', this.root, ...this.extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`registry did not start:\n${this.log}`)), 15_000);
      proc.stderr!.on('data', (b: Buffer) => {
        this.log += b.toString();
        const m = /listening on (\S+?)"/.exec(this.log);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`registry exited (${code}):\n${this.log}`)); });
    });
    return this;
  }

  get hostPort(): string { return this.url.replace(/^https?:\/\//, ''); }

  /** SIGTERM and wait; returns the exit code. */
  async stop(): Promise<number | null> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  }
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface TestImage {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  manifestDigest: string;
}

/** A small OCI image: `layers` gzip'd tars with a file each, and a config naming their diff ids. */
export async function makeImage(seed: string, layerCount = 2): Promise<TestImage> {
  const layers: Buffer[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < layerCount; i++) {
    const tar = await makeTar([{ name: `file-${seed}-${i}.txt`, content: `${seed} layer ${i}\n`.repeat(100 + i) }]);
    diffIds.push(sha256(tar));
    layers.push(gzip(tar));
  }
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
  }));
  return { config, layers, manifest, manifestDigest: sha256(manifest) };
}

/** Writes an image as an OCI image layout directory (what `skopeo copy oci:DIR:TAG` reads). */
export async function writeOciLayout(dir: string, tag: string, img: TestImage): Promise<void> {
  await fs.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const b of [img.config, img.manifest, ...img.layers]) await fs.writeFile(path.join(dir, 'blobs', 'sha256', sha256(b).slice(7)), b);
  await fs.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fs.writeFile(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: img.manifestDigest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
}
