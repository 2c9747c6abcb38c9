// Layers stored as plain tar (imported, loaded from `docker save` archives) are gzipped before they go to a
// registry, as docker does: the wire and the registry's disk carry a quarter of the bytes. pigz compresses on
// every core (Debian's pigz; scripts/setup installs it), at its fast level — on the loopback and LAN links
// pushes mostly go over, time to compress dominates, and level 1 costs a third of level 6's time for a few
// percent more bytes. The output is kept as the layer's blob, so a layer is compressed once, not per push.
import { spawn } from 'child_process';
import { createReadStream } from 'fs';
import { EngineError } from '../common/errors';
import type { BlobInfo, BlobStore } from './blobs';

/** gzip `sourcePath` into a new blob. */
export async function gzipBlob(sourcePath: string, blobs: BlobStore): Promise<BlobInfo> {
  const writer = await blobs.createWriter();
  const child = spawn('pigz', ['-1', '-n', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += String(d); });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', (err) => reject(new EngineError(500, `compressing layer: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'pigz is not installed (run scripts/setup)' : err.message}`)));
    child.on('close', (code) => resolve(code ?? 1));
  });
  const input = createReadStream(sourcePath, { highWaterMark: 1 << 20 });
  input.on('error', (err) => child.stdin.destroy(err));
  child.stdin.on('error', () => { /* reported through the exit code */ });
  input.pipe(child.stdin);
  try {
    for await (const chunk of child.stdout) await writer.write(chunk as Buffer);
    const code = await exited;
    if (code !== 0) throw new EngineError(500, `compressing layer: pigz exited with ${code}: ${stderr.trim()}`);
    return await writer.commit();
  } catch (err) {
    child.kill();
    await writer.abort();
    throw err;
  }
}
