// distribution/reference as docker uses it: normalise "busybox" to docker.io/library/busybox, add
// ":latest", print the familiar form back ("busybox:latest"), and reject malformed names with the same
// "invalid reference format" messages.

export interface Ref { domain: string; path: string; tag?: string; digest?: string }

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ID = /^[a-f0-9]{64}$/;

export class ReferenceError extends Error {}

function splitDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let domain: string;
  let rest: string;
  if (i === -1 || (!/[.:]/.test(name.slice(0, i)) && name.slice(0, i) !== 'localhost' && name.slice(0, i).toLowerCase() === name.slice(0, i))) {
    domain = 'docker.io';
    rest = name;
  } else {
    domain = name.slice(0, i);
    rest = name.slice(i + 1);
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !rest.includes('/')) rest = 'library/' + rest;
  return [domain, rest];
}

/** reference.ParseNormalizedNamed. */
export function parseNormalizedNamed(s: string): Ref {
  if (ID.test(s)) throw new ReferenceError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  const [domain, remainder] = splitDomain(s);
  const tagSep = remainder.indexOf(':');
  const atSep = remainder.indexOf('@');
  let remoteName = remainder;
  const cut = [tagSep, atSep].filter((x) => x > -1);
  if (cut.length) remoteName = remainder.slice(0, Math.min(...cut));
  if (remoteName.toLowerCase() !== remoteName) {
    throw new ReferenceError(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  const m = REFERENCE.exec(`${domain}/${remainder}`);
  if (!m) {
    if (s === '') throw new ReferenceError('invalid reference format');
    throw new ReferenceError('invalid reference format');
  }
  const name = m[1];
  if (name.length > 255) throw new ReferenceError('repository name must not be more than 255 characters');
  return { domain, path: name.slice(domain.length + 1), tag: m[2], digest: m[3] };
}

/** reference.ParseAnyReference: a bare 64-hex id is an image id (not a name); null means "id". */
export function parseAnyReference(s: string): Ref | null {
  if (ID.test(s)) return null;
  return parseNormalizedNamed(s);
}

/** Full name: docker.io/library/busybox. */
export const refName = (r: Ref) => `${r.domain}/${r.path}`;

/** reference.TagNameOnly: add ":latest" when there is neither tag nor digest. */
export const tagNameOnly = (r: Ref): Ref => (r.tag || r.digest ? r : { ...r, tag: 'latest' });

/** reference.FamiliarName. */
export function familiarName(r: Ref): string {
  if (r.domain !== 'docker.io') return refName(r);
  const p = r.path;
  if (p.startsWith('library/') && !p.slice(8).includes('/')) return p.slice(8);
  return p;
}

/** reference.FamiliarString. */
export const familiarString = (r: Ref) => familiarName(r) + (r.tag ? ':' + r.tag : '') + (r.digest ? '@' + r.digest : '');

/** The `tag` query value for POST /images/create (client.getAPITagFromNamedRef). */
export const apiTag = (r: Ref) => r.digest ?? tagNameOnly(r).tag ?? '';
