// Inside a browser Worker, comlink talks over the worker's global scope.
import type { Endpoint } from 'comlink';

export function parentEndpoint(): Endpoint {
  return self as unknown as Endpoint;
}
