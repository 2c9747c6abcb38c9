// What the CLI sends as X-Registry-Auth for a registry: the credentials docker's config.json (or its
// credential helper) holds for that registry, or an empty config. The daemon never stores credentials.
import { credentialKey, encodeRegistryAuthHeader, getCredentials } from '../../distribution/credentials';

export async function registryAuthHeader(domain: string): Promise<string> {
  const auth = await getCredentials(credentialKey(domain)).catch(() => undefined);
  return auth ? encodeRegistryAuthHeader({ ...auth, serveraddress: credentialKey(domain) }) : 'e30=';
}
