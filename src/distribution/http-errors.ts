// Turning an error answer into a RegistryError the way docker's registry client does (distribution's
// registry/client/errors.go: HandleErrorResponse): a Bearer challenge with error="insufficient_scope" means
// DENIED and error="invalid_token" UNAUTHORIZED (their description, if any, is the message), followed by the
// errors of the JSON body; a non-JSON 401/403/429 body becomes UNAUTHORIZED/DENIED/TOOMANYREQUESTS with the body
// as message; statuses outside 400–499 are "received unexpected HTTP status: 500 Internal Server Error".
import { parseChallenges } from './challenge';
import { ERROR_CODE_MESSAGES, RegistryError, RegistryErrorDetail, responseError } from './errors';
import type { HttpResponse } from './transport';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  413: 'Request Entity Too Large', 416: 'Requested Range Not Satisfiable', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Go's http.StatusText. */
export const statusText = (status: number, fallback = '') => STATUS_TEXT[status] ?? fallback;

const retryableStatus = (status: number) => status === 429 || status === 408 || status >= 500;

function makeError(status: number, message: string): RegistryErrorDetail {
  switch (status) {
    case 401: return { code: 'UNAUTHORIZED', message };
    case 403: return { code: 'DENIED', message };
    case 429: return { code: 'TOOMANYREQUESTS', message };
    default: return { code: 'UNKNOWN', message };
  }
}

/** Parses an error body; returns the details, or a RegistryError when the body is not understood. */
export function parseErrorBody(status: number, contentType: string | undefined, body: string): RegistryErrorDetail[] | RegistryError {
  if (!contentType) return [makeError(status, body)];
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json' && mediaType !== 'application/vnd.api+json') return [makeError(status, body)];
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    return unexpectedResponse(status, (err as Error).message, body);
  }
  const d = doc as { details?: unknown; errors?: unknown };
  if (d && typeof d === 'object' && typeof d.details === 'string' && d.details !== '') return [makeError(status, d.details)];
  const list = d && typeof d === 'object' && Array.isArray(d.errors) ? d.errors : undefined;
  if (!list || list.length === 0) return unexpectedResponse(status, 'no error details found in HTTP response body', body);
  return list.map((e: { code?: unknown; message?: unknown; detail?: unknown }) => {
    const code = typeof e?.code === 'string' && e.code ? e.code : 'UNKNOWN';
    const message = typeof e?.message === 'string' ? e.message : (ERROR_CODE_MESSAGES[code] ?? '');
    return e?.detail !== undefined ? { code, message, detail: e.detail } : { code, message };
  });
}

function unexpectedResponse(status: number, parseErr: string, body: string): RegistryError {
  return new RegistryError(`error parsing HTTP ${status} response body: ${parseErr}: ${JSON.stringify(body)}`, {
    status, kind: 'protocol', retryable: retryableStatus(status),
  });
}

/** Reads (at most 1 MiB of) an error answer and builds docker's error for it. */
export async function errorFromResponse(res: HttpResponse): Promise<RegistryError> {
  let body = '';
  try {
    body = (await res.bytes(1 << 20)).toString('utf8');
  } catch {
    res.discard();
  }
  return errorFromParts(res.status, res.statusText, res.header('content-type'), body, res.headerValues('www-authenticate'));
}

export function errorFromParts(status: number, reason: string, contentType: string | undefined, body: string, wwwAuthenticate: string[] = []): RegistryError {
  if (status >= 400 && status < 500) {
    if (status === 401) {
      for (const c of parseChallenges(wwwAuthenticate)) {
        if (c.scheme !== 'bearer') continue;
        let code: string;
        if (c.params.error === 'invalid_token') code = 'UNAUTHORIZED';
        else if (c.params.error === 'insufficient_scope') code = 'DENIED';
        else continue;
        const first: RegistryErrorDetail = { code, message: c.params.error_description || ERROR_CODE_MESSAGES[code] };
        const rest = parseErrorBody(status, contentType, body);
        return responseError(status, [first, ...(rest instanceof RegistryError ? [] : rest)]);
      }
    }
    const parsed = parseErrorBody(status, contentType, body);
    if (parsed instanceof RegistryError) {
      if (status === 401) return responseError(status, [{ code: 'UNAUTHORIZED', message: ERROR_CODE_MESSAGES.UNAUTHORIZED }]);
      return parsed;
    }
    return responseError(status, parsed, retryableStatus(status));
  }
  const text = `${status} ${reason || statusText(status)}`.trim();
  return new RegistryError(`received unexpected HTTP status: ${text}`, { status, kind: 'response', retryable: retryableStatus(status) });
}
