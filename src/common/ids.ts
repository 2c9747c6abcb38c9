import { randomBytes, createHash } from 'crypto';

/** A 64-hex id like Docker's container and exec ids. */
export const newId = () => randomBytes(32).toString('hex');
export const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
