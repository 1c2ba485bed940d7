import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { App } from '../types.js';

/**
 * A request id on every response (`x-request-id`), and on every log line of that request
 * (`reqId`). A caller's own id is kept when it is sane, so a trace can cross services; anything
 * else (too long, odd characters, several values) is replaced by a fresh UUID, never echoed.
 */

export const REQUEST_ID_HEADER = 'x-request-id';

/** Letters, digits and `._:-`, as UUIDs, ULIDs and most tracing ids are; at most 128 characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`: the caller's id when it is safe to log and send back, else a new one. */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  if (typeof given === 'string' && SAFE_REQUEST_ID.test(given)) return given;
  return randomUUID();
}

/** Installed first, so every answer (a 401, a 404, a preflight) carries the id. */
export function installRequestId(app: App): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
