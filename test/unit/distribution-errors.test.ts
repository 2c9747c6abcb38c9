// distribution/: docker's texts for registry failures (pull, push, transport, login) and manifest parsing errors.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { errorFromParts } from '../../src/distribution/http-errors';
import {
  RegistryError, pullErrorMessage, pullErrorStatus, pushErrorMessage, pullError, netErrorText, errcodeText, schema1Error, noMatchingManifestError,
} from '../../src/distribution/errors';
import { parseManifest, parseImageManifest, parseManifestIndex, detectManifestMediaType, MediaType, layerCompression } from '../../src/distribution/media-types';

const JSON_CT = 'application/json; charset=utf-8';
const body = (...errors: { code: string; message: string; detail?: unknown }[]) => JSON.stringify({ errors });

test('registry error bodies become "<code words>: <message>"', () => {
  const e = errorFromParts(404, 'Not Found', JSON_CT, body({ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'nope' } }));
  assert.equal(e.message, 'manifest unknown: manifest unknown');
  assert.equal(e.code, 'MANIFEST_UNKNOWN');
  assert.equal(e.status, 404);
  assert.equal(e.kind, 'response');
  assert.equal(errorFromParts(404, '', JSON_CT, body({ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' })).message,
    'name unknown: repository name not known to registry');
  assert.equal(errorFromParts(400, '', JSON_CT, body({ code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' })).message,
    'digest invalid: provided digest did not match uploaded content');
  // codes docker does not know print as "unknown"
  assert.equal(errorFromParts(400, '', JSON_CT, body({ code: 'QUOTA_EXCEEDED', message: 'too big' })).message, 'unknown: too big');
  // several errors: docker's list format
  assert.equal(errorFromParts(400, '', JSON_CT, body({ code: 'DENIED', message: 'a' }, { code: 'UNAUTHORIZED', message: 'b' })).message,
    'errors:\ndenied: a\nunauthorized: b\n');
});

test('non-JSON bodies, "details", empty bodies, 5xx', () => {
  assert.equal(errorFromParts(401, '', 'text/plain', 'go away').message, 'unauthorized: go away');
  assert.equal(errorFromParts(403, '', undefined, 'nope').message, 'denied: nope');
  assert.equal(errorFromParts(429, '', 'text/html', 'slow down').message, 'toomanyrequests: slow down');
  assert.equal(errorFromParts(404, '', 'text/plain', '404 page not found\n').message, 'unknown: 404 page not found\n');
  assert.equal(errorFromParts(401, '', 'application/json', '{"details":"incorrect username or password"}').message, 'unauthorized: incorrect username or password');
  assert.equal(errorFromParts(401, '', 'application/json', '').message, 'unauthorized: authentication required');
  assert.equal(errorFromParts(404, '', 'application/json', '{"errors":[]}').message,
    'error parsing HTTP 404 response body: no error details found in HTTP response body: "{\\"errors\\":[]}"');
  const e = errorFromParts(500, 'Internal Server Error', JSON_CT, body({ code: 'UNKNOWN', message: 'boom' }));
  assert.equal(e.message, 'received unexpected HTTP status: 500 Internal Server Error');
  assert.equal(e.retryable, true);
  assert.equal(errorFromParts(503, '', undefined, '').message, 'received unexpected HTTP status: 503 Service Unavailable');
  assert.equal(errorFromParts(404, '', JSON_CT, body({ code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' })).retryable, false);
});

test('Bearer challenge errors come first: insufficient_scope → denied, invalid_token → unauthorized', () => {
  const h = ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nope:pull",error="insufficient_scope"'];
  const e = errorFromParts(401, '', JSON_CT, body({ code: 'UNAUTHORIZED', message: 'authentication required', detail: [] }), h);
  assert.equal(e.code, 'DENIED');
  assert.equal(e.errors.length, 2);
  assert.equal(pullErrorMessage(e, 'nope'),
    "pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied");
  assert.equal(pullErrorStatus(e), 404);
  assert.equal(pushErrorMessage(e), 'denied: requested access to the resource is denied');
  const d = errorFromParts(401, '', undefined, '', ['Bearer realm="x",error="invalid_token",error_description="token expired"']);
  // like docker's client, the body's errors follow (an empty body without Content-Type is one more "unauthorized: ")
  assert.equal(d.message, 'errors:\nunauthorized: token expired\nunauthorized: \n');
  assert.equal(d.code, 'UNAUTHORIZED');
  assert.equal(pullErrorMessage(d, 'x'), 'unauthorized: token expired');
  assert.equal(pullErrorStatus(d), 401);
});

test('pull texts name the image as the user wrote it', () => {
  const unknown = errorFromParts(404, '', JSON_CT, body({ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }));
  assert.equal(pullErrorMessage(unknown, 'localhost:5000/x:nope'), 'manifest for localhost:5000/x:nope not found: manifest unknown: manifest unknown');
  assert.equal(pullErrorMessage(unknown, 'docker.io/library/busybox:nope'), 'manifest for busybox:nope not found: manifest unknown: manifest unknown');
  assert.equal(pullErrorMessage(unknown, 'busybox'), 'manifest for busybox:latest not found: manifest unknown: manifest unknown');
  assert.equal(pullErrorMessage(unknown, { domain: 'docker.io', path: 'library/alpine', tag: '3' }), 'manifest for alpine:3 not found: manifest unknown: manifest unknown');
  const denied = errorFromParts(403, '', JSON_CT, body({ code: 'DENIED', message: 'requested access to the resource is denied' }));
  assert.equal(pullErrorMessage(denied, 'user/private:1'),
    "pull access denied for user/private, repository does not exist or may require 'docker login': denied: requested access to the resource is denied");
  const name = errorFromParts(404, '', JSON_CT, body({ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }));
  assert.equal(pullErrorMessage(name, 'localhost:5000/a/b:c'), 'repository localhost:5000/a/b not found: name unknown: repository name not known to registry');
  const unauthorized = errorFromParts(401, '', JSON_CT, body({ code: 'UNAUTHORIZED', message: 'authentication required' }));
  assert.equal(pullErrorMessage(unauthorized, 'x'), 'unauthorized: authentication required');
  assert.equal(pullErrorStatus(unauthorized), 401);
  // errors of the transport or the token fetch keep their text and are not "not found"
  const wrapped = new RegistryError('Head "https://registry-1.docker.io/v2/library/x/manifests/latest": unauthorized: incorrect username or password',
    { kind: 'auth', status: 401, errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] });
  assert.equal(pullErrorMessage(wrapped, 'x'), wrapped.message);
  assert.equal(pullErrorStatus(wrapped), 500);
  const ee = pullError(unknown, 'a:b');
  assert.equal(ee.status, 404);
  assert.equal(ee.message, 'manifest for a:b not found: manifest unknown: manifest unknown');
  assert.equal(pullErrorMessage(new Error('plain'), 'x'), 'plain');
});

test('network errors in Go words', () => {
  const u = new URL('http://127.0.0.1:5000/v2/');
  assert.equal(netErrorText(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 5000 }), u),
    'dial tcp 127.0.0.1:5000: connect: connection refused');
  assert.equal(netErrorText(Object.assign(new Error('connect ECONNREFUSED ::1:5000'), { code: 'ECONNREFUSED', address: '::1', port: 5000 }), u),
    'dial tcp [::1]:5000: connect: connection refused');
  assert.equal(netErrorText(Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' }), new URL('https://nope.invalid/v2/')),
    'dial tcp: lookup nope.invalid: no such host');
  assert.equal(netErrorText(Object.assign(new Error('x wrong version number y'), { code: 'EPROTO' }), u), 'http: server gave HTTP response to HTTPS client');
  assert.equal(netErrorText(Object.assign(new Error('self signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), u),
    'tls: failed to verify certificate: x509: certificate signed by unknown authority');
  assert.equal(netErrorText(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), u), 'unexpected EOF');
});

test('other texts', () => {
  assert.equal(errcodeText({ code: 'TOOMANYREQUESTS', message: 'slow' }), 'toomanyrequests: slow');
  assert.match(schema1Error('docker.io/library/x:1').message,
    /^Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed\. Suggest the author of docker\.io\/library\/x:1 to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2\. More information at https:\/\/docs\.docker\.com\/go\/deprecated-image-specs\/$/);
  assert.equal(noMatchingManifestError({ os: 'linux', architecture: 'arm64', variant: 'v8' }).message, 'no matching manifest for linux/arm64/v8 in the manifest list entries');
});

const sha = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = {
  schemaVersion: 2, mediaType: MediaType.DockerManifest,
  config: { mediaType: MediaType.DockerConfig, digest: sha('a'), size: 10 },
  layers: [{ mediaType: MediaType.DockerLayer, digest: sha('b'), size: 20 }],
};

test('manifests: parse by media type or shape; clear errors for malformed documents', () => {
  const p = parseManifest(JSON.stringify(manifest), MediaType.DockerManifest);
  assert.equal(p.kind, 'manifest');
  const { mediaType: _m, ...noType } = manifest;
  void _m;
  assert.equal(detectManifestMediaType(JSON.stringify(noType)), MediaType.OciManifest);
  assert.equal(detectManifestMediaType(JSON.stringify(noType), MediaType.DockerManifest), MediaType.DockerManifest);
  assert.equal(detectManifestMediaType(JSON.stringify({ schemaVersion: 2, manifests: [] }), 'application/json'), MediaType.OciIndex);
  const idx = parseManifest(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{ mediaType: MediaType.OciManifest, digest: sha('c'), size: 5, platform: { os: 'linux', architecture: 'amd64' } }] }));
  assert.equal(idx.kind, 'index');
  assert.throws(() => parseImageManifest('{"schemaVersion":2,'), /^EngineError: invalid manifest: /);
  assert.throws(() => parseImageManifest('[]'), /invalid manifest: not a JSON object/);
  assert.throws(() => parseImageManifest(JSON.stringify({ ...manifest, layers: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] })), /invalid manifest: layers\[0\]\.digest "sha256:zz" is not a/);
  assert.throws(() => parseImageManifest(JSON.stringify({ ...manifest, config: { mediaType: 'x', digest: sha('a'), size: -1 } })), /config\.size must be a non-negative integer/);
  assert.throws(() => parseImageManifest(JSON.stringify({ ...manifest, schemaVersion: 3 })), /unsupported schemaVersion 3/);
  assert.throws(() => parseImageManifest(JSON.stringify({ ...manifest, mediaType: MediaType.OciIndex })), /unexpected mediaType/);
  assert.throws(() => parseManifestIndex(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'x', digest: sha('c'), size: 1, platform: { os: 'linux' } }] })), /manifests\[0\]\.platform needs os and architecture/);
  assert.throws(() => parseManifest('{"schemaVersion":1,"name":"x","fsLayers":[]}'), /schema 1 support has been removed/);
  assert.throws(() => parseManifest('{"schemaVersion":2}', 'application/vnd.cncf.helm.config.v1+json'), /unsupported media type application\/vnd\.cncf\.helm\.config\.v1\+json/);
  assert.equal(layerCompression(MediaType.DockerLayer), 'gzip');
  assert.equal(layerCompression(MediaType.OciLayerZstd), 'zstd');
  assert.equal(layerCompression(MediaType.OciLayer), 'none');
  assert.equal(layerCompression(MediaType.DockerConfig), undefined);
});
