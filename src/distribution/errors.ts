// Registry errors and docker's texts for them. The registry answers failures with a JSON list of
// {code, message, detail}; docker prints each as "<code in lower case with spaces>: <message>" (so
// MANIFEST_UNKNOWN becomes "manifest unknown: manifest unknown"), wraps failures that happen while sending a
// request (connection refused, token fetch refused) Go-style as `Get "<url>": <cause>`, and turns a few codes
// into pull-specific sentences ("pull access denied for …"). This module builds those texts; callers choose.
import { EngineError } from '../common/errors';
import { familiarRepository, familiarName, parseReference, Reference } from '../storage/reference';

export interface RegistryErrorDetail {
  /** The registry's code as sent ('MANIFEST_UNKNOWN', 'DENIED', …). */
  code: string;
  message: string;
  detail?: unknown;
}

/**
 * Where the error came from:
 * - 'response': the registry answered with an error status (message is the errcode text);
 * - 'transport': the request could not be sent or its answer not read (message is `Op "url": cause`);
 * - 'auth': authorizing the request failed (token server refused, no basic credentials); `Op "url": cause`;
 * - 'verify': content did not match its digest or announced size;
 * - 'protocol': the registry answered something this client cannot use (bad Location, bad JSON …).
 */
export type RegistryErrorKind = 'response' | 'transport' | 'auth' | 'verify' | 'protocol';

export class RegistryError extends Error {
  override name = 'RegistryError';
  /** HTTP status of the registry's answer; 0 when there was none (transport errors). */
  readonly status: number;
  /** The first error code ('MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'UNAUTHORIZED', 'DENIED', …), if any. */
  readonly code?: string;
  readonly errors: RegistryErrorDetail[];
  readonly kind: RegistryErrorKind;
  /** Whether trying again may help (connection dropped, 5xx, 429). */
  readonly retryable: boolean;
  /** Node's error code for transport errors (ECONNREFUSED, ECONNRESET …). */
  readonly syscallCode?: string;
  constructor(message: string, init: { status?: number; errors?: RegistryErrorDetail[]; kind: RegistryErrorKind; retryable?: boolean; syscallCode?: string; cause?: unknown }) {
    super(message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.status = init.status ?? 0;
    this.errors = init.errors ?? [];
    this.code = this.errors[0]?.code;
    this.kind = init.kind;
    this.retryable = init.retryable ?? false;
    this.syscallCode = init.syscallCode;
  }
}

/** The codes of distribution's errcode registry with their default messages. */
export const ERROR_CODE_MESSAGES: Record<string, string> = {
  UNKNOWN: 'unknown error',
  UNSUPPORTED: 'The operation is unsupported.',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNAVAILABLE: 'service unavailable',
  TOOMANYREQUESTS: 'too many requests',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  SIZE_INVALID: 'provided length did not match content length',
  NAME_INVALID: 'invalid repository name',
  TAG_INVALID: 'manifest tag did not match URI',
  NAME_UNKNOWN: 'repository name not known to registry',
  MANIFEST_UNKNOWN: 'manifest unknown',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNVERIFIED: 'manifest failed signature verification',
  MANIFEST_BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  PAGINATION_NUMBER_INVALID: 'invalid number of results requested',
  RANGE_INVALID: 'invalid content range',
};

/** "manifest unknown: manifest unknown": how docker prints one registry error (codes it does not know print as "unknown"). */
export function errcodeText(e: RegistryErrorDetail): string {
  const code = Object.prototype.hasOwnProperty.call(ERROR_CODE_MESSAGES, e.code) ? e.code : 'UNKNOWN';
  return `${code.toLowerCase().replace(/_/g, ' ')}: ${e.message}`;
}

/** docker's text for a list of registry errors (errcode.Errors). */
export function errcodeListText(errors: RegistryErrorDetail[]): string {
  if (errors.length === 0) return '<nil>';
  if (errors.length === 1) return errcodeText(errors[0]);
  return 'errors:\n' + errors.map((e) => errcodeText(e) + '\n').join('');
}

/** An error made from registry error details (kind 'response'). */
export function responseError(status: number, errors: RegistryErrorDetail[], retryable = false): RegistryError {
  return new RegistryError(errcodeListText(errors), { status, errors, kind: 'response', retryable });
}

/** Go's url.Error operation name: 'GET' → 'Get'. */
export const goOp = (method: string) => method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();

/** `Get "https://host/v2/": <cause>`, the way Go's http client reports a failed request. */
export function requestFailureText(method: string, url: string | URL, cause: string): string {
  return `${goOp(method)} "${String(url)}": ${cause}`;
}

/** Re-wraps an error that happened while authorizing a request as that request's failure (kind 'auth'). */
export function wrapAuthError(err: unknown, method: string, url: string | URL): RegistryError {
  const inner = err instanceof Error ? err.message : String(err);
  const re = err instanceof RegistryError ? err : undefined;
  return new RegistryError(requestFailureText(method, url, inner), {
    status: re?.status ?? 0, errors: re?.errors, kind: 'auth', retryable: re?.retryable ?? false, syscallCode: re?.syscallCode, cause: err,
  });
}

const isAbort = (err: unknown) => err instanceof Error && (err.name === 'AbortError' || (err as NodeJS.ErrnoException).code === 'ABORT_ERR');
export { isAbort };

interface NetError extends Error { code?: string; address?: string; port?: number; errors?: NetError[]; reason?: string }

/** Go's wording for a Node network/TLS error ("dial tcp 127.0.0.1:5000: connect: connection refused"). */
export function netErrorText(err: unknown, url: URL): string {
  let e = err as NetError;
  if (Array.isArray(e.errors) && e.errors.length > 0 && !e.code) e = e.errors[e.errors.length - 1];
  const host = url.hostname;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const addr = e.address ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port ?? port}` : `${host}:${port}`;
  const msg = e.message ?? String(err);
  switch (e.code) {
    case 'ECONNREFUSED': return `dial tcp ${addr}: connect: connection refused`;
    case 'ENOTFOUND': return `dial tcp: lookup ${host.replace(/^\[|\]$/g, '')}: no such host`;
    case 'EAI_AGAIN': return `dial tcp: lookup ${host}: Temporary failure in name resolution`;
    case 'EHOSTUNREACH': return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH': return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ETIMEDOUT': case 'ECONNECT_TIMEOUT': case 'UND_ERR_CONNECT_TIMEOUT': return `dial tcp ${addr}: i/o timeout`;
    case 'ECONNRESET': return msg === 'aborted' ? 'unexpected EOF' : `read tcp ${addr}: read: connection reset by peer`;
    case 'EPIPE': return `write tcp ${addr}: write: broken pipe`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT': case 'SELF_SIGNED_CERT_IN_CHAIN': case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY': case 'UNABLE_TO_GET_ISSUER_CERT':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED': case 'CERT_NOT_YET_VALID':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': return `tls: failed to verify certificate: x509: certificate is not valid for ${host}`;
  }
  if (/wrong version number|packet length too long|http request/i.test(msg)) return 'http: server gave HTTP response to HTTPS client';
  if (msg === 'socket hang up') return 'EOF';
  return msg;
}

/** Whether a Node error means the connection failed or broke (worth a retry / a fallback to http). */
export function isNetworkError(err: unknown): boolean {
  const code = (err as NetError)?.code;
  return typeof code === 'string' && /^(E[A-Z]+|ERR_SSL_.*|ERR_TLS_.*|UND_ERR_.*|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_.*|CERT_.*)$/.test(code)
    || (err instanceof Error && /socket hang up|aborted|wrong version number/.test(err.message));
}

/** A transport failure of `method url` as a RegistryError (kind 'transport'). */
export function transportError(err: unknown, method: string, url: URL): RegistryError {
  if (err instanceof RegistryError) return err;
  const code = (err as NetError)?.code;
  return new RegistryError(requestFailureText(method, url.toString(), netErrorText(err, url)), {
    kind: 'transport', retryable: !/CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|ENOTFOUND/.test(code ?? ''), syscallCode: code, cause: err,
  });
}

// ---------------------------------------------------------------------------------------------------------
// docker's texts for failed pulls and pushes (moby daemon/internal/distribution/errors.go: translatePullError)

const NOT_FOUND_CODES = new Set(['DENIED', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);

/** Familiar name (no tag/digest) and familiar string of a reference; unparsable strings are used as they are. */
function familiar(ref: string | Reference): { name: string; full: string } {
  let r: Reference;
  try {
    r = typeof ref === 'string' ? parseReference(ref) : ref;
  } catch {
    const s = String(ref);
    return { name: s.replace(/@.*$/, '').replace(/:[^:/]*$/, ''), full: s };
  }
  return { name: familiarRepository(r), full: familiarName(r) };
}

/**
 * The text `docker pull` shows for a failed pull of `ref` (a reference string as the user wrote it, or parsed):
 * "manifest for localhost:5000/x:nope not found: manifest unknown: manifest unknown",
 * "pull access denied for x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
 * "repository x not found: name unknown: …"; every other error keeps its own text.
 */
export function pullErrorMessage(err: unknown, ref: string | Reference): string {
  if (err instanceof RegistryError && err.kind === 'response' && err.errors.length > 0 && NOT_FOUND_CODES.has(err.errors[0].code)) {
    const r = familiar(ref);
    const cause = errcodeText(err.errors[0]);
    switch (err.errors[0].code) {
      case 'DENIED': return `pull access denied for ${r.name}, repository does not exist or may require 'docker login': ${cause}`;
      case 'MANIFEST_UNKNOWN': return `manifest for ${r.full} not found: ${cause}`;
      case 'NAME_UNKNOWN': return `repository ${r.name} not found: ${cause}`;
    }
  }
  if (err instanceof RegistryError && err.kind === 'response' && err.errors.length > 1) {
    // translatePullError keeps only the first of several registry errors.
    return errcodeText(err.errors[0]);
  }
  return err instanceof Error ? err.message : String(err);
}

/** The HTTP status the Engine API answers a failed pull with (docker's errdefs: not found 404, unauthorized 401, else 500). */
export function pullErrorStatus(err: unknown): number {
  if (err instanceof RegistryError && err.kind === 'response' && err.errors.length > 0) {
    if (NOT_FOUND_CODES.has(err.errors[0].code)) return 404;
    if (err.errors[0].code === 'UNAUTHORIZED') return 401;
  }
  if (err instanceof EngineError) return err.status;
  return 500;
}

/** pullErrorMessage + pullErrorStatus as an EngineError, ready to throw from the API layer. */
export function pullError(err: unknown, ref: string | Reference): EngineError {
  return new EngineError(pullErrorStatus(err), pullErrorMessage(err, ref));
}

/**
 * The text `docker push` shows: the registry's own error text ("denied: requested access to the resource is
 * denied", "unauthorized: authentication required", "manifest blob unknown: blob unknown to registry") or the
 * transport failure (`Put "http://…": dial tcp …: connect: connection refused`). `ref` is accepted for symmetry.
 */
export function pushErrorMessage(err: unknown, _ref?: string | Reference): string {
  if (err instanceof RegistryError && err.kind === 'response' && err.errors.length > 1) return errcodeText(err.errors[0]);
  return err instanceof Error ? err.message : String(err);
}

/** docker's text for schema 1 manifests, which it no longer pulls. */
export function schema1Error(ref?: string): EngineError {
  let msg = 'Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed.';
  if (ref) msg += ` Suggest the author of ${ref} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.`;
  msg += ' More information at https://docs.docker.com/go/deprecated-image-specs/';
  return new EngineError(400, msg);
}

/** "no matching manifest for linux/arm64/v8 in the manifest list entries" */
export function noMatchingManifestError(platform: { os: string; architecture: string; variant?: string }): EngineError {
  const p = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
  return new EngineError(404, `no matching manifest for ${p} in the manifest list entries`);
}
