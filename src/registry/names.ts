// The spec's grammars for repository names, tags and digests. Everything that reaches the file system
// passes through these first: a valid name or tag cannot contain "..", a leading "_" or a "/" in a tag,
// and a supported digest is lower-case hex, so none of them can escape or collide with our own files.

// A path component: lower-case alphanumerics joined by ".", "_", "__" or runs of "-".
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
// The general digest grammar (algorithm:encoded), used to tell "malformed" from "unsupported".
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

/** CNCF distribution's limit on a whole repository name; it keeps paths well under PATH_MAX. */
export const MAX_NAME_LENGTH = 255;

export function validName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function validTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** Syntactically a digest (any algorithm). */
export function looksLikeDigest(s: string): boolean {
  return s.length <= 1024 && DIGEST_RE.test(s);
}

/**
 * A digest this registry can verify and store. Only sha256: it is what every client pushes, and it lets
 * uploads hash incrementally with one algorithm instead of guessing which one the final PUT will name.
 */
export function supportedDigest(s: string): boolean {
  return SHA256_RE.test(s);
}

/** The hex part of a sha256 digest. */
export const hexOf = (digest: string) => digest.slice(7);
