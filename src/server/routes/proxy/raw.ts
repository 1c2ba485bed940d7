import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { CallerGone, answerHeaders, forward, prepareRawProxy } from '../../../core/proxy/forward.js';
import type { ForwardedResponse } from '../../../core/proxy/forward.js';
import { HOST_HEADER } from '../../../core/proxy/headers.js';
import { ConnectrError } from '../../../core/errors.js';
import { pinnedConnector } from '../../services/connections.js';
import { routeCredentials } from '../../credentials/source.js';
import { callTarget } from '../../credentials/target.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import { callerMaxWait } from '../../limits/max-wait.js';
import { serverBaseUrl } from '../oauth/urls.js';
import type { PublicAddress } from '../oauth/urls.js';
import { settingsOf } from '../../settings.js';
import { UPSTREAM_TIMEOUT_MS } from '../../upstream.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';

/**
 * `/api/v1/connections/{id}/proxy/{path}` (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS): a raw
 * request forwarded to one of the connection's connector's own hosts with its credential added.
 * core/proxy does the forwarding (which host, which URL, which headers, the credential, the
 * refresh and replay, what a failure is); this route checks the key, finds the connection, and
 * maps the Fastify request in and the answer out. Both bodies stream: the upload is piped
 * upstream as it arrives (not capped by the JSON routes' body limit, but by its own), and the
 * answer goes back as it arrives, status and headers included; nothing is buffered. The request
 * goes through the daemon's one upstream pool (upstream.ts), as execute's do.
 */

export const PROXY_ROUTE = '/api/v1/connections/:id/proxy/*';

/** Largest proxied upload: CONNECTR_PROXY_MAX_BODY (bytes; settings.ts) in the server's environment. */
export const MAX_BODY_VARIABLE = 'CONNECTR_PROXY_MAX_BODY';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const Params = z.object({
  // As every connection route checks it: a NUL or a stray byte never reaches the database.
  id: ConnectionParams.shape.id,
  '*': z.string().describe("The path below the host's base URL, e.g. gmail/v1/users/me/profile."),
});

/** Counts the upload as it passes, and stops it past the limit; `exceeded` says it did. */
class Capped extends Transform {
  /** Bytes that passed so far (the call log's bytes_sent). */
  seen = 0;
  exceeded = false;
  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen <= this.limit) {
      done(null, chunk);
      return;
    }
    this.exceeded = true;
    done(new Error(`the request body is larger than ${this.limit} bytes`));
  }
}

function tooLarge(limit: number): ConnectrError {
  return new ConnectrError(
    'payload_too_large',
    `the proxied request body is larger than the limit of ${limit} bytes`,
    { hint: `send a smaller body, or raise ${MAX_BODY_VARIABLE} in the environment of connectr serve` },
  );
}

/**
 * The raw path after `/proxy/` and the raw query, as the caller wrote them (still encoded),
 * from a request target in origin form (`/api/v1/connections/{id}/proxy/{path}?{query}`).
 *
 * A target in absolute form (`http://other.host/api/v1/…`, what a client sends a forward
 * proxy) is refused rather than resolved. The router matches it by the path after the
 * authority; resolving it here too would make the path sent upstream depend on two parsers
 * agreeing on where that path starts (`http://a?b/…`, `http://u@a/…`), and on an authority
 * that may contradict the Host header the proxy's links are built from. No client sends it to
 * a server that is not a forward proxy, which connectr is not (CONNECT is a 405 too).
 */
export function splitProxyUrl(url: string): { path: string; query: string } {
  if (!url.startsWith('/')) {
    throw new FieldError(
      'url',
      'the request target is an absolute URL: connectr serve is not a forward proxy',
      {
        hint: 'send the path only, as in GET /api/v1/connections/{id}/proxy/{path} with a Host header (the form HTTP clients use when no proxy is configured)',
      },
    );
  }
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q + 1);
  // /api/v1/connections/{id}/proxy/{path}: the path is what follows the sixth slash.
  let at = -1;
  for (let i = 0; i < 6; i++) {
    at = pathname.indexOf('/', at + 1);
    if (at === -1) return { path: '', query };
  }
  return { path: pathname.slice(at + 1), query };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Whether the caller sends a body: a non-zero Content-Length, or a chunked one. */
function hasBody(headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  const length = single(headers['content-length']);
  if (length !== undefined) return Number(length) > 0;
  return headers['transfer-encoding'] !== undefined;
}

/**
 * The proxy's own URL for a connection, where upstream links are mapped to: under the server's
 * public address (--public-url, a trusted proxy's forwarded host, else the listening address),
 * or only its path when the server has none.
 */
function proxyBaseOf(request: FastifyRequest, address: PublicAddress, connectionId: string): string {
  const path = `/api/v1/connections/${encodeURIComponent(connectionId)}/proxy`;
  const base = serverBaseUrl(request, address);
  if (base === undefined) return path;
  try {
    // Parsed again: a forwarded host is a header, and must not put anything odd in one.
    return `${new URL(base).href.replace(/\/+$/, '')}${path}`;
  } catch {
    return path;
  }
}

export function registerRawProxy(app: App, context: RouteContext, address: PublicAddress): void {
  const env = context.deps.env ?? {};
  const maxBody = settingsOf(context.deps).CONNECTR_PROXY_MAX_BODY;

  void app.register((scope, _options, done) => {
    // The body is the upstream's, streamed: no parser reads it, so the JSON routes' body
    // limit does not apply; `capped` applies this route's own.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, parsed) => {
      parsed(null, undefined);
    });
    scope.withTypeProvider<ZodTypeProvider>().route({
      method: [...METHODS],
      url: PROXY_ROUTE,
      schema: {
        summary: "Forward a raw request to the connection's API",
        description: `Forwards the request to the connector's default host (or the host named by the \`${HOST_HEADER}\` header) under its base URL, with the connection's credential added; streams both bodies. The caller's Authorization (its API key), cookies and hop-by-hop headers are never forwarded. The upstream status, headers and body come back as they are, except hop-by-hop headers, Set-Cookie and X-Connectr-*; URLs on the proxied host in Link, Location and Content-Location are mapped to this proxy. The proxy's own errors carry \`x-connectr-error: 1\`. See docs/server.md "Raw proxy".`,
        tags: ['proxy'],
        params: Params,
        response: {
          404: ErrorEnvelopeSchema,
          409: ErrorEnvelopeSchema,
          413: ErrorEnvelopeSchema,
          429: ErrorEnvelopeSchema,
          502: ErrorEnvelopeSchema,
          504: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
      handler: async (request, reply) => {
        const identity = identityOf(request);
        const data = requireData(context);
        const { path, query } = splitProxyUrl(request.raw.url ?? '');
        const withBody = hasBody(request.headers);
        const declared = Number(single(request.headers['content-length']) ?? '0');
        if (declared > maxBody) {
          // The body is not read: the connection cannot carry another request after it.
          void reply.header('connection', 'close');
          throw tooLarge(maxBody);
        }
        // The connection first (404 for another project's), then the URL and headers, all
        // checked before any credential is read or anything is sent.
        const { connection } = await callTarget(data, identity.projectId, request.params.id);
        // The hosts of the version the connection is pinned to.
        const connector = pinnedConnector(await context.deps.registry(), connection);
        const prepared = prepareRawProxy({
          connector,
          env,
          method: request.method,
          path,
          query,
          headers: request.headers,
        });

        // The caller going away (before or during the answer) stops the upstream request.
        const gone = new CallerGone();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) gone.abort();
        });
        const cap = withBody ? new Capped(maxBody) : undefined;
        const trace = context.calls.begin(request, reply, {
          kind: 'proxy',
          connection,
          connector,
          method: request.method,
          path,
          query,
          sent: () => cap?.seen,
        });
        let response: ForwardedResponse;
        try {
          response = await forward(prepared, {
            dispatcher: context.upstream,
            credentials: routeCredentials(context, connection, connector),
            body:
              cap &&
              ((): Capped => {
                const upload = request.raw.pipe(cap);
                upload.once('error', () => undefined);
                request.raw.once('error', (error) => upload.destroy(error));
                return upload;
              }),
            signal: gone,
            timeoutMs: UPSTREAM_TIMEOUT_MS,
            onResponse: (status) => {
              context.metrics.upstreamResponse(connector.name, status);
              trace.status(status);
            },
            limiter: context.limits?.limiter(
              identity.projectId,
              connection.id,
              connector,
              callerMaxWait(request.headers),
            ),
          });
        } catch (error) {
          if (!cap?.exceeded) throw error;
          // The rest of the body is not read: the connection cannot carry another request after it.
          void reply.header('connection', 'close');
          throw tooLarge(maxBody);
        }

        // Any status upstream answers, not only those the schema lists for the proxy's own errors.
        const answer: FastifyReply = reply;
        // Links to the host the request went to lead back through the proxy (core/proxy/links.ts).
        const returned = answerHeaders(prepared, response.headers, () =>
          proxyBaseOf(request, address, connection.id),
        );
        void answer.code(response.statusCode).headers(returned);
        // A page of an allowed origin (cors.ts) may read the API's own headers too.
        const exposed = reply.getHeader('access-control-expose-headers');
        if (typeof exposed === 'string' && Object.keys(returned).length > 0)
          void reply.header(
            'access-control-expose-headers',
            `${exposed}, ${Object.keys(returned).join(', ')}`,
          );
        if (request.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304) {
          await response.body.dump();
          return answer.send();
        }
        trace.body(response.headers, response.body);
        return answer.send(response.body);
      },
    });
    done();
  });
}
