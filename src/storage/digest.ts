// Content addresses: 'sha256:<hex>' strings, and the chain ids that name a layer together with everything
// below it (OCI image spec: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))).
import { sha256 } from '../common/ids';

export const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export const isSha256Digest = (s: string) => SHA256_RE.test(s);
/** The hex part of 'sha256:<hex>' (file names use it). */
export const digestHex = (digest: string) => digest.slice(digest.indexOf(':') + 1);
export const sha256Digest = (data: string | Uint8Array) => `sha256:${sha256(data)}`;

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    out.push(out.length === 0 ? diffId : sha256Digest(`${out[out.length - 1]} ${diffId}`));
  }
  return out;
}
