// .dockerignore: reading the file and matching context paths, with Docker's rules (moby/patternmatcher and its
// ignorefile reader).
//
// Who does what in `docker build` (the classic /build API that berth serves):
//  - The client (docker CLI, berth CLI, SDKs) reads .dockerignore and leaves matching files out of the context
//    tar it sends — except the Dockerfile and .dockerignore themselves, which it always sends
//    (trimBuildFilesFromExcludes), because the daemon needs to read them.
//  - The daemon reads the Dockerfile from the context, then removes the Dockerfile and .dockerignore from the
//    context when .dockerignore excludes them (filesHiddenAfterParse), so COPY . cannot pick them up.
//  - berth's daemon may also apply the patterns to everything it received (context.ts removeIgnored): a client
//    that ignores .dockerignore (a hand-made tar) then gets the same context the docker CLI would have sent.
//    Docker's classic daemon trusts the client here; applying the patterns twice changes nothing for clients
//    that already did.
//
// Pattern rules: Go's filepath.Match syntax (`*`, `?`, `[a-z]`, `\` escapes) per path component, plus `**` for
// any number of components; a pattern matching a directory excludes everything below it; `!pattern` re-includes
// what an earlier pattern excluded, and the last matching pattern wins; patterns are cleaned (`./a`, `/a`, `a/`
// all mean `a`); lines starting with `#` are comments.
import { EngineError } from '../common/errors';
import { cleanPath, goMatch } from './match';

/** The patterns of a .dockerignore file, cleaned like Docker's reader (comments and blank lines dropped). */
export function parseDockerignore(text: string | Uint8Array): string[] {
  let s = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  const out: string[] = [];
  for (const line of s.split('\n')) {
    // A comment is a line whose first character is `#`; indented `#` is a pattern.
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern !== '') {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}

type Kind = 'exact' | 'prefix' | 'suffix' | 'regexp';

class Pattern {
  readonly kind: Kind;
  private readonly re?: RegExp;

  constructor(readonly text: string, readonly exclusion: boolean) {
    const compiled = compile(text);
    this.kind = compiled.kind;
    this.re = compiled.re;
  }

  match(path: string): boolean {
    switch (this.kind) {
      case 'exact':
        return path === this.text;
      case 'prefix':
        return path.startsWith(this.text.slice(0, -2)); // the text ends with `**`
      case 'suffix': {
        const suffix = this.text.slice(2); // the text starts with `**`
        return path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
      }
      default:
        return this.re!.test(path);
    }
  }
}

/** A literal character in a regular expression, outside and inside a character class. */
const esc = (ch: string) => (/[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch);
const escInClass = (ch: string) => (/[\\\]\[^-]/.test(ch) ? `\\${ch}` : ch);

/**
 * A pattern as Docker's matcher sees it: plain text compares as a string; `dir/**` is a prefix; `**` + plain
 * text a suffix; anything else a regular expression where `*` and `?` stop at `/`, `**` crosses any number of
 * directories, and `[…]` is a character class.
 */
function compile(pattern: string): { kind: Kind; re?: RegExp } {
  const chars = Array.from(pattern);
  let kind: Kind = 'exact';
  let re = '^';
  let inClass = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (inClass) {
      if (ch === ']') { inClass = false; re += ']'; continue; }
      if (ch === '\\' && i + 1 < chars.length) { re += escInClass(chars[++i]); continue; }
      re += ch === '[' || ch === '\\' ? `\\${ch}` : ch;
      continue;
    }
    const start = i;
    if (ch === '*' && chars[i + 1] === '*') {
      i++;
      if (chars[i + 1] === '/') i++; // `**/` is the same as `**`
      if (i + 1 >= chars.length) {
        // a trailing `**` accepts everything below, like .gitignore
        if (kind === 'exact') kind = 'prefix';
        else { re += '.*'; kind = 'regexp'; }
      } else {
        re += '(?:.*/)?';
        kind = 'regexp';
      }
      if (start === 0) kind = 'suffix';
    } else if (ch === '*') {
      re += '[^/]*';
      kind = 'regexp';
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regexp';
    } else if (ch === '\\') {
      if (i + 1 < chars.length) {
        re += esc(chars[++i]);
        kind = 'regexp';
      } else {
        re += '\\\\';
      }
    } else if (ch === '[') {
      inClass = true;
      re += '[';
      if (chars[i + 1] === '^') { re += '^'; i++; }
      kind = 'regexp';
    } else {
      re += esc(ch);
    }
  }
  if (kind !== 'regexp') return { kind };
  return { kind, re: new RegExp(`${re}$`, 'u') };
}

/** Per-pattern results for a directory, handed to its children during a walk (matchesInWalk). */
export type ParentMatches = readonly boolean[];

/** A compiled .dockerignore (or `--exclude`) pattern list. */
export class DockerIgnore {
  private readonly patterns: Pattern[] = [];
  /** True when some pattern starts with `!`. */
  readonly hasExclusions: boolean = false;

  /** Throws EngineError 400 for a bad pattern (`illegal exclusion pattern: "!"`, `syntax error in pattern`). */
  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new EngineError(400, 'illegal exclusion pattern: "!"');
        exclusion = true;
        // cleaned again: Docker's matcher would keep `!./x` as `./x`, which matches nothing
        p = cleanPath(p.slice(1));
        this.hasExclusions = true;
      }
      goMatch(p, '.'); // Docker checks every pattern's syntax up front
      this.patterns.push(new Pattern(p, exclusion));
    }
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * Whether `path` (slash-separated, relative to the context) is excluded: a pattern matches the path or one of
   * its parent directories, and no later `!` pattern matches it again.
   */
  matches(path: string): boolean {
    const file = cleanPath(path);
    if (file === '.') return false; // the context itself is never excluded
    const slash = file.lastIndexOf('/');
    const parents = slash === -1 ? [] : file.slice(0, slash).split('/');
    let matched = false;
    for (const pattern of this.patterns) {
      // only a pattern that can change the answer needs looking at
      if (pattern.exclusion !== matched) continue;
      let hit = pattern.match(file);
      for (let i = 0; !hit && i < parents.length; i++) hit = pattern.match(parents.slice(0, i + 1).join('/'));
      if (hit) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * matches() for a tree walk: `parent` is what this returned for the directory being walked (undefined at the
   * top), so parent paths need not be matched again for every child. Returns the answer and what to pass to
   * this directory's own children.
   */
  matchesInWalk(path: string, parent?: ParentMatches): { excluded: boolean; info: ParentMatches } {
    if (parent === undefined) {
      // no results from above: compute them for the path's parents first
      const file = cleanPath(path);
      const slash = file.lastIndexOf('/');
      let info: ParentMatches | undefined;
      if (slash !== -1) {
        const parts = file.slice(0, slash).split('/');
        for (let i = 0; i < parts.length; i++) info = this.matchesInWalk(parts.slice(0, i + 1).join('/'), info).info;
      }
      return this.matchesInWalk(file, info ?? this.patterns.map(() => false));
    }
    const info: boolean[] = [];
    let excluded = false;
    this.patterns.forEach((pattern, i) => {
      // a pattern that matched a parent matches everything below it
      const hit = parent[i] || pattern.match(path);
      info.push(hit);
      if (hit) excluded = !pattern.exclusion;
    });
    return { excluded, info };
  }

  /**
   * Whether a walk may skip an excluded directory: only when no `!` pattern could re-include something below it
   * (Docker's rule: an exception whose text starts with the directory's path keeps the walk going).
   */
  canSkipDir(dir: string): boolean {
    if (!this.hasExclusions) return true;
    const prefix = `${cleanPath(dir)}/`;
    return !this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(prefix));
  }

  /** The patterns as cleaned (exceptions with their `!`). */
  list(): string[] {
    return this.patterns.map((p) => (p.exclusion ? `!${p.text}` : p.text));
  }
}

/**
 * Client side: the patterns to exclude from the context tar, changed so the Dockerfile and .dockerignore are
 * still sent when the patterns exclude them (the daemon hides them again after reading them). `dockerfile` is
 * the Dockerfile's path inside the context; when it comes from stdin it is added to the tar separately.
 */
export function trimBuildFilesFromExcludes(excludes: readonly string[], dockerfile: string, dockerfileFromStdin = false): string[] {
  const out = [...excludes];
  const m = new DockerIgnore(excludes);
  if (m.matches('.dockerignore')) out.push('!.dockerignore');
  const df = dockerfile.replace(/\\/g, '/');
  if (!dockerfileFromStdin && m.matches(df)) out.push(`!${df}`);
  return out;
}

/**
 * Daemon side: of .dockerignore and the Dockerfile, those the patterns exclude — the builder removes them from
 * the extracted context once the Dockerfile is read, so the build cannot copy them.
 */
export function filesHiddenAfterParse(excludes: readonly string[], dockerfile: string): string[] {
  const m = new DockerIgnore(excludes);
  return ['.dockerignore', dockerfile].filter((f, i, all) => all.indexOf(f) === i && m.matches(f));
}
