// The image the image benchmarks move around: ~200 MB in 4 layers, as a docker-archive tar (what `docker save`
// writes, loadable by dockerd 20.10 and berth). Made once per machine with GNU tar and cached; the content is
// half random (incompressible) and half text-like (compressible), in many small files and a few large ones,
// like a real base image with an application on top.
import { execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';

export const BIG_IMAGE_TAG = 'bench/big:1';
const CACHE = '/var/tmp/berth-bench';
const MB = 1 << 20;

/** Text-like bytes: compress about 4:1 with gzip. */
function compressible(size: number, seed: number): Buffer {
  const words = ['container', 'layer', 'image', 'registry', 'manifest', 'digest', 'overlay', 'namespace', 'cgroup', 'berth', 'docker', 'blob'];
  const parts: string[] = [];
  let n = 0;
  let x = seed;
  while (n < size) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const w = `${words[x % words.length]}${x % 97} `;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

function fill(dir: string, files: Array<[string, Buffer]>): void {
  for (const [name, data] of files) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), data);
  }
}

/** Path of the cached archive, made on first use. */
export function bigImageArchive(): string {
  const out = path.join(CACHE, 'big-image.tar');
  if (existsSync(out)) return out;
  mkdirSync(CACHE, { recursive: true });
  const work = path.join(CACHE, `work-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  const layers: Array<Array<[string, Buffer]>> = [
    // a distro-like base: 6000 small files
    Array.from({ length: 6000 }, (_v, i) => [`usr/share/pkg${i % 60}/file${i}.txt`, i % 2 ? compressible(6000, i) : randomBytes(6000)] as [string, Buffer]),
    // libraries: a few large, mostly incompressible files
    Array.from({ length: 5 }, (_v, i) => [`usr/lib/lib${i}.so`, randomBytes(12 * MB)] as [string, Buffer]),
    // an application: large compressible files
    Array.from({ length: 4 }, (_v, i) => [`app/data${i}.txt`, compressible(12 * MB, 1000 + i)] as [string, Buffer]),
    // a top layer with a mix
    [...Array.from({ length: 500 }, (_v, i) => [`app/assets/a${i}.bin`, randomBytes(40_000)] as [string, Buffer]),
      ['app/bundle.js', compressible(20 * MB, 7)] as [string, Buffer]],
  ];
  const diffIds: string[] = [];
  const layerFiles: string[] = [];
  layers.forEach((files, i) => {
    const root = path.join(work, `root${i}`);
    fill(root, files);
    const rel = `layer${i}/layer.tar`;
    mkdirSync(path.join(work, 'archive', `layer${i}`), { recursive: true });
    execFileSync('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=2024-01-01', '-cf', path.join(work, 'archive', rel), '.']);
    diffIds.push(`sha256:${createHash('sha256').update(readFileSync(path.join(work, 'archive', rel))).digest('hex')}`);
    layerFiles.push(rel);
  });
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z',
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'bench' })),
  }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(path.join(work, 'archive', configName), config);
  writeFileSync(path.join(work, 'archive', 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [BIG_IMAGE_TAG], Layers: layerFiles }]));
  execFileSync('tar', ['-C', path.join(work, 'archive'), '-cf', `${out}.tmp`, '.']);
  renameSync(`${out}.tmp`, out);
  rmSync(work, { recursive: true, force: true });
  return out;
}
