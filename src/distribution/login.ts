// Checking credentials against a registry, as dockerd's POST /auth does (registry/auth.go loginV2): ping
// /v2/, answer its challenge (a Bearer token asked with offline_token=true and client_id=docker, no scope, so a
// token server hands out a refresh token that becomes the identity token; or Basic), and GET /v2/ again with
// it. For insecure registries https is tried before http; a refusal of the credentials stops there.
import { AuthConfig, basicCredentials, fetchToken } from './auth';
import { parseChallenges } from './challenge';
import { candidateUrls, RegistryEndpoint, rememberWorkingUrl } from './endpoint';
import { isAbort, RegistryError, transportError, wrapAuthError } from './errors';
import { statusText } from './http-errors';
import { EngineError } from '../common/errors';
import { fetchTransport, nodeTransport, Transport } from './transport';

export interface LoginResult {
  status: 'Login Succeeded';
  /** A refresh token the token server issued; the CLI stores it instead of the password. */
  identityToken?: string;
}

export interface LoginOptions {
  userAgent?: string;
  transport?: Transport;
  fetchImpl?: typeof fetch;
  signal?: AbortSignal;
}

const isUnauthorized = (err: unknown): boolean => err instanceof RegistryError && err.kind === 'auth' && err.errors.some((e) => e.code === 'UNAUTHORIZED');

export async function login(endpoint: RegistryEndpoint, auth: AuthConfig, opts: LoginOptions = {}): Promise<LoginResult> {
  const transport = opts.transport ?? (opts.fetchImpl ? fetchTransport(opts.fetchImpl) : nodeTransport);
  const userAgent = opts.userAgent ?? 'berth/0.1.0';
  const insecureTls = endpoint.insecure;
  let lastErr: unknown;
  for (const base of candidateUrls(endpoint)) {
    const url = new URL('/v2/', base);
    const get = async (authorization?: string) => {
      const headers: Record<string, string> = { 'user-agent': userAgent };
      if (authorization) headers.authorization = authorization;
      try {
        return await transport({ method: 'GET', url, headers, insecureTls, signal: opts.signal, idleTimeoutMs: 15_000 });
      } catch (err) {
        if (isAbort(err)) throw err;
        throw transportError(err, 'GET', url);
      }
    };
    try {
      const ping = await get();
      const challenges = ping.status === 401 ? parseChallenges(ping.headerValues('www-authenticate')) : [];
      ping.discard();
      rememberWorkingUrl(endpoint, base);
      let authorization: string | undefined;
      let identityToken: string | undefined = auth.identitytoken;
      const bearer = challenges.find((c) => c.scheme === 'bearer');
      try {
        if (bearer) {
          if (auth.registrytoken) authorization = `Bearer ${auth.registrytoken}`;
          else {
            const t = await fetchToken(bearer.params, [], auth, { transport, insecureTls, userAgent, offline: true, clientId: 'docker', baseUrl: base, signal: opts.signal });
            authorization = `Bearer ${t.token}`;
            if (t.refreshToken) identityToken = t.refreshToken;
          }
        } else if (challenges.some((c) => c.scheme === 'basic')) {
          const creds = basicCredentials(auth);
          if (!creds) throw new RegistryError('no basic auth credentials', { kind: 'auth' });
          authorization = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
        }
      } catch (err) {
        if (isAbort(err)) throw err;
        throw wrapAuthError(err, 'GET', url);
      }
      const res = await get(authorization);
      res.discard();
      if (res.status !== 200) {
        throw new RegistryError(`login attempt to ${url} failed with status: ${res.status} ${statusText(res.status, res.statusText)}`, { kind: 'response', status: res.status });
      }
      return identityToken ? { status: 'Login Succeeded', identityToken } : { status: 'Login Succeeded' };
    } catch (err) {
      // only a failure to connect moves on to the next scheme; the registry's own answer is final
      if (isAbort(err) || !(err instanceof RegistryError && err.kind === 'transport')) throw err;
      // when all fail, report the plain-http attempt like docker (which always tries it last)
      if (lastErr === undefined || base === endpoint.fallbackUrl) lastErr = err;
    }
  }
  throw lastErr;
}

/** The Engine API error for a failed login: 401 when the registry refused the credentials, else 500. */
export function loginError(err: unknown): EngineError {
  const message = err instanceof Error ? err.message : String(err);
  return new EngineError(isUnauthorized(err) ? 401 : 500, message);
}
