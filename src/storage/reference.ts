// Docker image references ("busybox", "localhost:5000/app:1", "x@sha256:…"), parsed and normalized the way
// github.com/distribution/reference does it (ParseNormalizedNamed, FamiliarString), so that every name the
// docker CLI accepts means the same image here and the error texts match the daemon's.
import { EngineError } from '../common/errors';

export interface Reference {
  /** Registry host[:port]; 'docker.io' for Docker Hub. */
  domain: string;
  /** Repository path inside the registry; official Hub images get 'library/'. */
  path: string;
  /** Tag; 'latest' when the reference names neither a tag nor a digest. */
  tag?: string;
  /** 'algorithm:hex' when the reference pins a digest. */
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of distribution/reference/regexp.go, transcribed.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const tagPattern = '[\\w][\\w.-]{0,127}';
const digestPattern = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';

const referenceRe = new RegExp(`^((?:${domainAndPort}/)?${remoteName})(?::(${tagPattern}))?(?:@(${digestPattern}))?$`);
const nameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const tagRe = new RegExp(`^${tagPattern}$`);
/** A full image id without its algorithm: 64 lowercase hex. */
export const ID_HEX_RE = /^[a-f0-9]{64}$/;

const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

const invalid = (detail?: string) =>
  new EngineError(400, detail ? `invalid reference format: ${detail}` : 'invalid reference format');

/** Validates 'algorithm:hex' like opencontainers/go-digest's Parse; returns it unchanged. */
export function validateDigest(digest: string): string {
  const colon = digest.indexOf(':');
  if (colon <= 0 || colon === digest.length - 1) throw new EngineError(400, 'invalid checksum digest format');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) throw new EngineError(400, 'unsupported digest algorithm');
  if (hex.length !== length) throw new EngineError(400, 'invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw new EngineError(400, 'invalid checksum digest format');
  return digest;
}

/** Splits off the registry like distribution's splitDockerDomain: the first component is a registry only if it
 * looks like a host (has '.' or ':', is 'localhost', or has uppercase letters, which a path may not). */
function splitDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  let domain: string;
  let remainder: string;
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/**
 * Parses a reference the way the daemon does (ParseNormalizedNamed + TagNameOnly): fills in docker.io,
 * library/ and the 'latest' tag. Throws EngineError 400 with docker's texts.
 */
export function parseReference(ref: string): Reference {
  if (ID_HEX_RE.test(ref)) {
    throw new EngineError(400, `invalid repository name (${ref}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDomain(ref);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep === -1 ? remainder : remainder.slice(0, tagSep);
  if (remote.toLowerCase() !== remote) throw invalid(`repository name (${remote}) must be lowercase`);

  const full = `${domain}/${remainder}`;
  const m = referenceRe.exec(full);
  if (!m) {
    if (ref === '') throw invalid('repository name must have at least one component');
    throw invalid();
  }
  if (m[1].length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const name = nameRe.exec(m[1]);
  if (!name) throw invalid();
  const out: Reference = { domain: name[1] ?? DEFAULT_DOMAIN, path: name[2] };
  if (m[2] !== undefined) out.tag = m[2];
  if (m[3] !== undefined) out.digest = validateDigest(m[3]);
  if (out.tag === undefined && out.digest === undefined) out.tag = 'latest';
  return out;
}

/** 'docker.io/library/busybox' — the repository name, fully qualified. */
export const repositoryName = (r: Reference) => `${r.domain}/${r.path}`;

/** The fully qualified string: 'docker.io/library/busybox:latest', 'host/app@sha256:…'. */
export function referenceString(r: Reference): string {
  return repositoryName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** The repository name as users write it: 'busybox', 'user/app', 'localhost:5000/app'. */
export function familiarRepository(r: Pick<Reference, 'domain' | 'path'>): string {
  if (r.domain !== DEFAULT_DOMAIN) return `${r.domain}/${r.path}`;
  if (r.path.startsWith(OFFICIAL_PREFIX) && !r.path.slice(OFFICIAL_PREFIX.length).includes('/')) {
    return r.path.slice(OFFICIAL_PREFIX.length);
  }
  return r.path;
}

/** FamiliarString: 'docker.io/library/busybox:latest' → 'busybox:latest' (what RepoTags show). */
export function familiarName(ref: string | Reference): string {
  const r = typeof ref === 'string' ? parseReference(ref) : ref;
  return familiarRepository(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** Validates a tag on its own (the API's ?tag= parameter). */
export function isValidTag(tag: string): boolean {
  return tagRe.test(tag);
}
