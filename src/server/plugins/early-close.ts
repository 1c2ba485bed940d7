import type { App } from '../types.js';

/**
 * An answer sent before the request's body was read (a 401 for a bad key, a 413 for a
 * Content-Length over the limit, a 415, a public GET that ignores a body) closes the
 * connection. Otherwise Node reads and discards the rest of the body to keep the connection
 * alive, and a client announcing a large body and sending a byte now and then holds the socket,
 * without any key, until the request time-out (issue #21).
 */

/** How long an answer with `Connection: close` may take to reach a client that does not read it. */
const FLUSH_GRACE_MS = 2000;

export function installEarlyClose(app: App): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    // `complete`: the parser has seen the whole message, body included. (Requests made by
    // `inject` have no parser: `complete` is undefined there, and there is no socket to close.)
    if ((request.raw.complete as boolean | undefined) === false) {
      void reply.header('connection', 'close');
      // With `Connection: close` Node ends the socket once the answer is written; a client that
      // neither reads it nor closes would still hold it until the idle time-out.
      const socket = request.raw.socket;
      reply.raw.once('finish', () => {
        setTimeout(() => socket.destroy(), FLUSH_GRACE_MS).unref();
      });
    }
    done(null, payload);
  });
}
