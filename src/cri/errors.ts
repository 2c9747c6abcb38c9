// The CRI server's errors: each carries the gRPC status code the kubelet (and critest, crictl) reads. Engine
// errors from the layers below (EngineError with an HTTP status) are mapped to the same codes in one place.
// the status codes alone: the gRPC stack itself loads with the CRI socket's first client (server.ts)
import { Status } from '@grpc/grpc-js/build/src/constants';
import { EngineError, errorMessage } from '../common/errors';

export class CriError extends Error {
  constructor(readonly code: Status, message: string) {
    super(message);
    this.name = 'CriError';
  }
}

export const notFound = (msg: string) => new CriError(Status.NOT_FOUND, msg);
export const alreadyExists = (msg: string) => new CriError(Status.ALREADY_EXISTS, msg);
export const invalidArgument = (msg: string) => new CriError(Status.INVALID_ARGUMENT, msg);
export const failedPrecondition = (msg: string) => new CriError(Status.FAILED_PRECONDITION, msg);
export const deadlineExceeded = (msg: string) => new CriError(Status.DEADLINE_EXCEEDED, msg);
export const unimplemented = (msg: string) => new CriError(Status.UNIMPLEMENTED, msg);
export const internal = (msg: string) => new CriError(Status.INTERNAL, msg);
export const unknown = (msg: string) => new CriError(Status.UNKNOWN, msg);

const BY_HTTP: Record<number, Status> = {
  400: Status.INVALID_ARGUMENT, 401: Status.UNAUTHENTICATED, 403: Status.PERMISSION_DENIED, 404: Status.NOT_FOUND,
  409: Status.FAILED_PRECONDITION, 502: Status.UNAVAILABLE, 503: Status.UNAVAILABLE,
};

/** Any error as a gRPC status: CriError as it is, engine errors by their HTTP status, the rest UNKNOWN. */
export function toStatus(err: unknown): { code: Status; details: string } {
  if (err instanceof CriError) return { code: err.code, details: err.message };
  if (err instanceof EngineError) return { code: BY_HTTP[err.status] ?? Status.UNKNOWN, details: err.message };
  return { code: Status.UNKNOWN, details: errorMessage(err) };
}

/** Prefixes the message, keeping the code (containerd's "failed to …: cause" style). */
export function wrap(err: unknown, what: string): CriError {
  const s = toStatus(err);
  return new CriError(s.code, `${what}: ${s.details}`);
}
