// cp's local side: a tar of a local file or tree to send, and a received tar extracted into a local directory,
// confined to it, with docker's CLI rules (owners left to whoever copies, a directory never replaces a file nor
// the other way round). It is storage's own archive code (archive-pack.ts, archive-extract.ts: synchronous, no
// native module), bundled apart as dist/cli-archive.js so that only `cp` pays for parsing it.
import { futimesSync, lutimesSync } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { Extractor, ExtractSyscalls } from '../../storage/archive-extract';
import { TarPacker } from '../../storage/archive-pack';
import { TarReader, TarSink } from '../../storage/tar-reader';

/** The calls the extractor needs, from Node alone: times to the microsecond, device nodes through coreutils'
 * mknod when root (docker's CLI creates them too), xattrs left out. */
function localSyscalls(warn: (m: string) => void): ExtractSyscalls {
  const own = (p: string) => p.replace(/^\/proc\/self\//, `/proc/${process.pid}/`); // as a child process sees it
  return {
    futimens: (fd, _shown, sec, nsec) => futimesSync(fd, sec + nsec / 1e9, sec + nsec / 1e9),
    lutimens: (p, sec, nsec) => lutimesSync(p, sec + nsec / 1e9, sec + nsec / 1e9),
    mknod: process.getuid?.() === 0 ? (p, kind, major, minor, perm) => {
      const args = kind === 'p' ? [own(p), 'p'] : [own(p), kind, String(major), String(minor)];
      require('child_process').execFileSync('mknod', ['-m', perm.toString(8), ...args], { stdio: 'ignore' });
    } : undefined,
    warn: (m) => warn(`${m}\n`),
  };
}

/** archive.RebaseArchiveEntries' renaming: the first occurrence of oldBase becomes newBase ("/": prepend). */
export function rebase(name: string, oldBase: string, newBase: string): string {
  const old = oldBase === '/' ? '' : oldBase;
  const i = name.indexOf(old);
  return i < 0 ? name : name.slice(0, i) + newBase + name.slice(i + old.length);
}

/** Extracts a tar stream into the existing directory `dstDir`, confined to it, renaming as `renames` say (in
 * order). `count` sees every byte received. Errors carry docker's texts. */
export async function extractLocal(warn: (m: string) => void, content: AsyncIterable<Buffer>, dstDir: string, renames: Array<[string, string]>, count: (n: number) => void): Promise<void> {
  const ex = new Extractor({ view: { root: dstDir }, dest: '', destShown: dstDir, rootShown: dstDir, noOverwriteDirNonDir: true, noLchown: true }, localSyscalls(warn));
  const rename = (n: string) => renames.reduce((acc, [from, to]) => rebase(acc, from, to), n);
  const sink: TarSink = renames.length === 0 ? ex : {
    entry: (h) => ex.entry({ ...h, name: rename(h.name), linkname: h.type === 'link' ? rename(h.linkname) : h.linkname }),
    data: (b) => ex.data(b),
    entryEnd: () => ex.entryEnd(),
  };
  const reader = new TarReader(sink);
  try {
    for await (const chunk of content) {
      count(chunk.length);
      reader.push(chunk);
    }
    reader.end();
    ex.finish();
  } catch (err) {
    ex.abort();
    throw new Error((err as Error).message); // printed as it is, exit status 1
  }
}

/** A tar of the local `src` (resolved, maybe ending in "/." or "/") whose top entry is named `topName`, as a
 * stream; `count` sees its bytes. */
export function localTar(src: string, topName: string, count: (n: number) => void): Readable {
  const cleaned = path.posix.normalize(src).replace(/(.)\/+$/, '$1');
  const dotted = path.posix.basename(src.replace(/\/+$/, '')) === '.' || src === '/';
  const root = dotted ? cleaned.replace(/\/\.$/, '') || '/' : path.posix.dirname(cleaned);
  const rel = dotted ? '' : path.posix.basename(cleaned);
  const packer = new TarPacker({ view: { root }, rel, rootName: topName }, { display: (r) => (r === '' ? root : path.posix.join(root, r)) });
  return new Readable({
    read() {
      // 64 KiB: below glibc's mmap threshold, so the memory is reused instead of faulted in afresh each time
      const b = Buffer.allocUnsafe(64 << 10);
      try {
        const n = packer.fill(b);
        if (n === 0) { this.push(null); return; }
        count(n);
        this.push(n === b.length ? b : b.subarray(0, n));
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, cb) {
      packer.close();
      cb(err);
    },
  });
}
