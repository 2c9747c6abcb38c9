// Feeding a tar-stream extractor from an async source, shared by image load and the build context.
import type * as tar from 'tar-stream';

/**
 * Writes `source` into the extractor with backpressure (the extractor is a streamx stream, which Node's pipeline
 * does not drive reliably); ends it when the source ends, stops early if the extractor is destroyed.
 */
export async function feedTar(source: AsyncIterable<Uint8Array>, extract: tar.Extract): Promise<void> {
  const sink = extract as unknown as {
    write(b: Uint8Array): boolean; end(): void; destroyed: boolean;
    once(e: string, f: () => void): void; off(e: string, f: () => void): void;
  };
  for await (const chunk of source) {
    if (sink.destroyed) return;
    if (!sink.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => { sink.off('drain', done); sink.off('close', done); resolve(); };
        sink.once('drain', done);
        sink.once('close', done);
      });
    }
  }
  if (!sink.destroyed) sink.end();
}
