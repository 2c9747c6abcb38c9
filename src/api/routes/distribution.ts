// Registry routes: pull (POST /images/create?fromImage), push, login (POST /auth) and
// GET /distribution/{name}/json. Credentials come per request in X-Registry-Auth (the client keeps them);
// the daemon stores none.
import type { ApiServices } from '../services';
import type { Context, Router } from '../router';
import { commonHeaders } from '../server';
import { EngineError, invalidParameter, errorMessage } from '../../common/errors';
import { familiarName, parseReference, Reference } from '../../storage';
import { AuthConfig, RegistryClient, decodeRegistryAuthHeader, login, loginError, parseManifest, pullError, registryDomain, resolveEndpoint } from '../../distribution';
import { pullImage } from '../../engine/images/pull';
import { pushImage } from '../../engine/images/push';
import { StreamProgress } from '../progress-stream';

const authOf = (ctx: Context): AuthConfig | undefined => decodeRegistryAuthHeader(headerOf(ctx, 'x-registry-auth'));
const headerOf = (ctx: Context, name: string) => {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** fromImage + tag as moby combines them: a tag that is a digest pins it; no tag at all means every tag. */
export function pullReference(fromImage: string, tag: string): { ref: Reference; allTags: boolean } {
  const ref = parseReference(fromImage);
  if (tag) {
    if (/^[a-z0-9]+:[a-f0-9]{32,}$/.test(tag)) return { ref: { domain: ref.domain, path: ref.path, digest: tag }, allTags: false };
    return { ref: { domain: ref.domain, path: ref.path, tag }, allTags: false };
  }
  const nameOnly = !/[:@]/.test(fromImage.slice(fromImage.lastIndexOf('/') + 1));
  return { ref, allTags: nameOnly };
}

/** Handles POST /images/create?fromImage=…: streams docker's progress messages. */
export async function pullRoute(ctx: Context, d: ApiServices, fromImage: string): Promise<void> {
  const { ref, allTags } = pullReference(fromImage, ctx.query.get('tag') ?? '');
  const auth = authOf(ctx);
  const platform = ctx.query.get('platform') || undefined;
  const progress = new StreamProgress(ctx.res!, commonHeaders());
  const opts = { auth, platform, insecureRegistries: d.options.insecureRegistries };
  try {
    if (allTags) {
      const client = new RegistryClient(resolveEndpoint(ref.domain, opts), ref.path, { auth, actions: ['pull'] });
      const tags = await client.listTags();
      for (const tag of tags) await pullImage(d.images, { domain: ref.domain, path: ref.path, tag }, progress, opts);
      progress.status(`Status: Downloaded newer images for ${familiarName({ domain: ref.domain, path: ref.path })}`);
    } else {
      await pullImage(d.images, ref, progress, opts);
    }
    progress.end();
  } catch (err) {
    if (!progress.hasStarted) throw err;
    progress.fail(errorMessage(err));
  }
}

export function distributionRoutes(r: Router, d: ApiServices): void {
  r.add('POST', '/images/{name*}/push', async (ctx) => {
    const auth = authOf(ctx);
    const base = parseReference(ctx.params.name);
    if (base.digest) throw invalidParameter('cannot push a digest reference');
    const tag = ctx.query.get('tag') ?? '';
    const name = familiarName({ domain: base.domain, path: base.path });
    let tags: string[];
    if (tag) tags = [tag];
    else if (/:[^/]+$/.test(ctx.params.name)) tags = [base.tag ?? 'latest'];
    else tags = d.images.list().flatMap((i) => i.repoTags).filter((t) => t.slice(0, t.lastIndexOf(':')) === name).map((t) => t.slice(t.lastIndexOf(':') + 1)).sort();
    if (tags.length === 0 || !d.images.tryGet(`${name}:${tags[0]}`)) {
      throw new EngineError(404, `An image does not exist locally with the tag: ${tag ? `${name}:${tag}` : name}`);
    }
    const progress = new StreamProgress(ctx.res!, commonHeaders());
    progress.status(`The push refers to repository [${base.domain}/${base.path}]`);
    try {
      for (const t of tags) await pushImage(d.images, { domain: base.domain, path: base.path, tag: t }, progress, { auth, insecureRegistries: d.options.insecureRegistries });
      progress.end();
    } catch (err) {
      progress.fail(errorMessage(err));
    }
  });

  r.add('POST', '/auth', async (ctx) => {
    const body = (await ctx.body()) as AuthConfig | undefined;
    if (!body || typeof body !== 'object') throw invalidParameter('missing auth config');
    const result = await login(resolveEndpoint(registryDomain(body.serveraddress), { insecureRegistries: d.options.insecureRegistries }), body).catch((err) => {
      throw err instanceof EngineError ? err : loginError(err);
    });
    return { Status: result.status, IdentityToken: result.identityToken ?? '' };
  });

  r.add('GET', '/distribution/{name*}/json', async (ctx) => {
    const ref = parseReference(ctx.params.name);
    const client = new RegistryClient(resolveEndpoint(ref.domain, { insecureRegistries: d.options.insecureRegistries }), ref.path, { auth: authOf(ctx), actions: ['pull'] });
    try {
      const m = await client.getManifest(ref.digest ?? ref.tag ?? 'latest');
      const doc = parseManifest(m.bytes, m.mediaType);
      let platforms: Array<Record<string, unknown>>;
      if (doc.kind === 'index') {
        platforms = doc.index.manifests.flatMap((x) => (x.platform ? [{ ...x.platform }] : []));
      } else {
        const cfg = JSON.parse((await client.getBlob(doc.manifest.config.digest, { maxSize: 16 << 20 })).toString()) as { os?: string; architecture?: string; variant?: string };
        platforms = [{ architecture: cfg.architecture ?? '', os: cfg.os ?? '', ...(cfg.variant ? { variant: cfg.variant } : {}) }];
      }
      return { Descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }, Platforms: platforms };
    } catch (err) {
      throw err instanceof EngineError ? err : pullError(err, ref);
    }
  });
}
