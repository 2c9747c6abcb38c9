// What pull and push report as they go: docker's progress messages (jsonmessage.JSONMessage). The API layer
// streams them (src/api/progress-stream.ts); the engine only says what happened.

export interface ProgressDetail { current?: number; total?: number }
export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: ProgressDetail;
  progress?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message: string };
}

export interface ProgressSink {
  /** A status line: 'Pulling fs layer', 'Pull complete', 'Digest: …'. With an id it is that layer's line. */
  status(status: string, id?: string): void;
  /** A plain line that names something (docker's "latest: Pulling from library/busybox"): not a layer line. */
  note(status: string, id: string): void;
  /** A byte-count update for a layer (throttled). */
  bytes(status: string, id: string, current: number, total: number): void;
  aux(value: unknown): void;
}

