// Errors that name the host they come from, and survive the trip from a worker to the main thread.

/**
 * A host's failure. `kind` says what a reader can do: after 'device-lost' or 'crashed' the host is
 * gone and the model must be reloaded (the document and conversation are the app's to keep);
 * after 'failed' the host still works.
 */
export class HostError extends Error {
  constructor(
    readonly host: number,
    message: string,
    readonly kind: 'device-lost' | 'crashed' | 'failed' = 'failed',
    options?: { cause?: unknown },
  ) {
    super(`Host ${host}: ${message}`, options);
    this.name = 'HostError';
  }
}

/** What a HostError becomes to cross a comlink boundary: comlink keeps only name, message and stack of an Error. */
export interface HostErrorData {
  hostError: { host: number; kind: HostError['kind']; message: string };
}

export function toHostErrorData(error: unknown): unknown {
  if (!(error instanceof HostError)) return error;
  const message = error.message.replace(/^Host \d+: /, '');
  return { hostError: { host: error.host, kind: error.kind, message } } satisfies HostErrorData;
}

export function fromHostErrorData(value: unknown): unknown {
  const data = (value as Partial<HostErrorData> | null)?.hostError;
  return data ? new HostError(data.host, data.message, data.kind) : value;
}
