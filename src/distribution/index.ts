// Public surface of distribution/: the registry client library (pull/push pipelines, POST /auth, the CLI's
// credential store).
export { RegistryClient, digestOf } from './client';
export type { RegistryClientOptions, FetchBlobOptions, PushBlobOptions, BlobSource, Action } from './client';
export { resolveEndpoint, isInsecureDomain, isLoopbackDomain, DOCKER_HUB_REGISTRY } from './endpoint';
export type { RegistryEndpoint } from './endpoint';
export { decodeRegistryAuthHeader, encodeRegistryAuthHeader, basicCredentials, clearTokenCache } from './auth';
export type { AuthConfig } from './auth';
export { parseChallenges, repositoryScope } from './challenge';
export type { Challenge } from './challenge';
export {
  RegistryError, pullErrorMessage, pullErrorStatus, pullError, pushErrorMessage, schema1Error, noMatchingManifestError, errcodeText,
} from './errors';
export type { RegistryErrorDetail, RegistryErrorKind } from './errors';
export { login, loginError } from './login';
export type { LoginResult, LoginOptions } from './login';
export {
  MediaType, MANIFEST_ACCEPT, parseManifest, parseImageManifest, parseManifestIndex, parseImageConfig, detectManifestMediaType,
  isIndexMediaType, isImageManifestMediaType, isSchema1MediaType, isConfigMediaType, layerCompression, isForeignLayer,
} from './media-types';
export type { Descriptor, ManifestDescriptor, ImageManifest, ManifestIndex, ParsedManifest, PlatformSpec } from './media-types';
export { selectManifest, matchingManifests, parsePlatform, formatPlatform, hostPlatform, normalizePlatform } from './platform';
export type { Platform } from './platform';
export { configPath, configDir, credentialKey, registryDomain, getCredentials, storeCredentials, eraseCredentials, INDEX_SERVER } from './credentials';
export { closeIdleConnections, nodeTransport, fetchTransport, setLoopbackConnector } from './transport';
export type { LoopbackConnector } from './transport';
export type { Transport, HttpRequest, HttpResponse } from './transport';
