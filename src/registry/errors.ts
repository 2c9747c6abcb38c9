// Registry errors in the distribution spec's shape: an HTTP status plus a code from the spec's table,
// so handlers throw and one place (http.ts) renders {"errors":[{code,message,detail}]}.

export type ErrorCode =
  | 'BLOB_UNKNOWN' | 'BLOB_UPLOAD_INVALID' | 'BLOB_UPLOAD_UNKNOWN' | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN' | 'MANIFEST_INVALID' | 'MANIFEST_UNKNOWN' | 'NAME_INVALID' | 'NAME_UNKNOWN'
  | 'SIZE_INVALID' | 'UNAUTHORIZED' | 'DENIED' | 'UNSUPPORTED' | 'TOOMANYREQUESTS'
  // Not in the OCI table but defined by CNCF distribution, which docker clients know:
  | 'TAG_INVALID' | 'PAGINATION_NUMBER_INVALID' | 'RANGE_INVALID' | 'UNKNOWN';

export class RegistryError extends Error {
  /** Extra response headers (a 416 tells the client where the upload really stands). */
  headers: Record<string, string> = {};
  constructor(readonly status: number, readonly code: ErrorCode, message: string, readonly detail?: unknown) {
    super(message);
    this.name = 'RegistryError';
  }
}

const e = (status: number, code: ErrorCode, message: string) => (detail?: unknown) => new RegistryError(status, code, message, detail);

export const errs = {
  blobUnknown: e(404, 'BLOB_UNKNOWN', 'blob unknown to registry'),
  uploadInvalid: e(400, 'BLOB_UPLOAD_INVALID', 'blob upload invalid'),
  uploadUnknown: e(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry'),
  digestInvalid: e(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content'),
  manifestBlobUnknown: e(400, 'MANIFEST_BLOB_UNKNOWN', 'manifest references a manifest or blob unknown to registry'),
  manifestInvalid: e(400, 'MANIFEST_INVALID', 'manifest invalid'),
  manifestUnknown: e(404, 'MANIFEST_UNKNOWN', 'manifest unknown to registry'),
  nameInvalid: e(400, 'NAME_INVALID', 'invalid repository name'),
  nameUnknown: e(404, 'NAME_UNKNOWN', 'repository name not known to registry'),
  sizeInvalid: e(400, 'SIZE_INVALID', 'provided length did not match content length'),
  tooLarge: e(413, 'SIZE_INVALID', 'payload too large'),
  unauthorized: e(401, 'UNAUTHORIZED', 'authentication required'),
  tagInvalid: e(400, 'TAG_INVALID', 'invalid tag'),
  paginationInvalid: e(400, 'PAGINATION_NUMBER_INVALID', 'invalid number of results requested'),
  rangeInvalid: e(416, 'RANGE_INVALID', 'invalid content range'),
  notFound: e(404, 'UNSUPPORTED', 'no such endpoint'),
  methodNotAllowed: e(405, 'UNSUPPORTED', 'the operation is unsupported'),
};

/** The JSON body for an error response. */
export function errorBody(err: RegistryError): string {
  const entry: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.detail !== undefined) entry.detail = err.detail;
  return JSON.stringify({ errors: [entry] });
}
