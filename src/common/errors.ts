// Domain errors carry the HTTP status Docker would answer with, so the API layer maps them
// without knowing the engine's internals, and the CLI prints "Error response from daemon: <message>".

export class EngineError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'EngineError';
  }
}

/** 400: malformed or invalid request. */
export const invalidParameter = (msg: string) => new EngineError(400, msg);
/** 403: refused by policy (a pre-defined network, a network in use, an overlapping pool). */
export const forbidden = (msg: string) => new EngineError(403, msg);
/** 404: unknown object. */
export const notFound = (msg: string) => new EngineError(404, msg);
/** 409: conflicts with the current state (name in use, container running …). */
export const conflict = (msg: string) => new EngineError(409, msg);
/** 500: the system failed (runtime error, I/O error). */
export const systemError = (msg: string) => new EngineError(500, msg);
/** 304: nothing to do (start of a running container, stop of a stopped one). */
export const notModified = () => new EngineError(304, '');

export const noSuchContainer = (ref: string) => notFound(`No such container: ${ref}`);
export const noSuchImage = (ref: string) => notFound(`No such image: ${ref}`);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
