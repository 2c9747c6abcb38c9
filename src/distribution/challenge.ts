// WWW-Authenticate parsing (RFC 7235 challenges as registries send them):
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/x:pull"
//   Basic realm="basic-realm"
// Each header may carry one or several challenges; parameter names are case-insensitive, values are tokens or
// quoted strings with backslash escapes. Scopes are space-separated inside one `scope` parameter.

export interface Challenge {
  /** Lower case: 'bearer', 'basic'. */
  scheme: string;
  /** Lower-case names: realm, service, scope, error, error_description … */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Parses one or more WWW-Authenticate header values into challenges, in order. Malformed tails are dropped. */
export function parseChallenges(headers: string | readonly string[] | undefined): Challenge[] {
  if (headers === undefined) return [];
  const list = typeof headers === 'string' ? [headers] : headers;
  const out: Challenge[] = [];
  for (const h of list) parseOne(h, out);
  return out;
}

function parseOne(s: string, out: Challenge[]): void {
  let i = 0;
  const n = s.length;
  const skipSpace = () => { while (i < n && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++; };
  const token = () => { const start = i; while (i < n && TOKEN_CHAR.test(s[i])) i++; return s.slice(start, i); };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (s[i] === ',') { i++; continue; }
    const name = token();
    if (!name) return; // garbage: stop here
    skipSpace();
    if (s[i] === '=' && current) {
      // a parameter of the current challenge (token68 values like "abc==" are not used by registries)
      i++;
      skipSpace();
      let value: string;
      if (s[i] === '"') {
        i++;
        value = '';
        let closed = false;
        while (i < n) {
          const c = s[i++];
          if (c === '\\' && i < n) { value += s[i++]; continue; }
          if (c === '"') { closed = true; break; }
          value += c;
        }
        if (!closed) return;
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
      continue;
    }
    if (s[i] === '=' && !current) return;
    // a new challenge: the scheme name
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
}

/** The scopes of a challenge's `scope` parameter ('repository:a:pull repository:b:pull,push'). */
export function challengeScopes(c: Challenge): string[] {
  return (c.params.scope ?? '').split(' ').filter(Boolean);
}

/** A repository scope string as docker builds it: 'repository:library/busybox:pull,push'. */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** Parses 'repository:name:pull,push' (names may contain ':' only in a registry-type resource, not handled). */
export function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}
