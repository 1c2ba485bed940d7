import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { checkOverrides } from '../../../core/auth/binding.js';
import { effectiveHostUrl } from '../../../core/connector/model.js';
import { applyCredential, credentialQueryParam } from '../../../core/engine/credential.js';
import type { Credential } from '../../../core/engine/credential.js';
import { ConnectrError, isConnectrError } from '../../../core/errors.js';
import { checkStatus, dropBody } from '../../../core/http/client.js';
import { describeNetworkError } from '../../../core/http/request.js';
import { USER_AGENT } from '../../../core/version.js';
import { routeCredentials } from '../../credentials/source.js';
import { callTarget } from '../../credentials/target.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError, HttpError } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import { serverBaseUrl } from '../oauth/urls.js';
import type { PublicAddress } from '../oauth/urls.js';
import { settingsOf } from '../../settings.js';
import { UPSTREAM_TIMEOUT_MS } from '../../upstream.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';
import {
  HOST_HEADER,
  checkProxyQuery,
  chooseHost,
  forwardedRequestHeaders,
  providerHeaders,
  proxyTarget,
  returnedResponseHeaders,
  splitProxyUrl,
  wirePath,
} from './raw-rules.js';
import { rewriteResponseLinks } from './raw-links.js';

/**
 * `/api/v1/connections/{id}/proxy/{path}` (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS): a raw
 * request forwarded to one of the connection's connector's own hosts with its credential added
 * (raw-rules.ts says which host, which URL and which headers). Both bodies stream: the upload is
 * piped upstream as it arrives (not capped by the JSON routes' body limit, but by its own), and
 * the answer goes back as it arrives, status and headers included; nothing is buffered. The
 * request goes through the daemon's one upstream pool (upstream.ts), as execute's do.
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

class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the request body is larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** Counts the upload as it passes, and stops it past the limit. */
function capped(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
      seen += chunk.length;
      if (seen > limit) done(new BodyTooLarge(limit));
      else done(null, chunk);
    },
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    'payload_too_large',
    `the proxied request body is larger than the limit of ${limit} bytes`,
    `send a smaller body, or raise ${MAX_BODY_VARIABLE} in the environment of connectr serve`,
  );
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
        const connector = (await context.deps.registry()).get(connection.connector);
        if (!connector) {
          throw new HttpError(
            409,
            'conflict',
            `connection ${connection.id} is for connector ${connection.connector}, which this server does not load`,
            'add its definition to the server (connectr connectors list shows the loaded ones) and restart it',
          );
        }
        checkOverrides(connector, env);
        const host = chooseHost(connector, single(request.headers[HOST_HEADER]));
        const target = proxyTarget(host, env, path);
        const auth = connector.auth;
        checkProxyQuery(query, auth.type === 'api_key' && auth.in === 'query' ? auth.name : undefined);
        const credentialHeader =
          auth.type === 'api_key' && auth.in === 'header' ? auth.name.toLowerCase() : undefined;
        const headers = forwardedRequestHeaders(
          request.headers,
          providerHeaders(connector),
          credentialHeader,
        );
        headers['user-agent'] = USER_AGENT;

        const source = routeCredentials(context, connection, connector);
        let supplied = await source.credential();

        // The caller going away (before or during the answer) stops the upstream request.
        const gone = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) gone.abort();
        });
        const upload = withBody ? request.raw.pipe(capped(maxBody)) : undefined;
        upload?.once('error', () => undefined);
        request.raw.once('error', (error) => upload?.destroy(error));

        const send = (credential: Credential): Promise<Dispatcher.ResponseData> => {
          const outgoing = { ...headers };
          const keyParam = credentialQueryParam(connector, credential);
          if (!keyParam) applyCredential(connector, credential, new URL(target), outgoing);
          // Straight to the pool with the path as a string: undici's request(url) would parse
          // it with the URL parser again, which re-encodes the caller's query.
          return context.upstream.request({
            origin: target.origin,
            path: wirePath(target, query, keyParam),
            method: request.method,
            headers: outgoing,
            ...(upload ? { body: upload } : {}),
            signal: gone.signal,
          });
        };
        const where = `${request.method} ${target.host}${target.pathname}`;
        let response: Dispatcher.ResponseData;
        try {
          response = await send(supplied.credential);
          context.metrics.upstreamResponse(connector.name, response.statusCode);
          // A refused token is refreshed once and the request replayed, when it can be: a
          // streamed body has gone and cannot be sent again.
          if (response.statusCode === 401 && supplied.refreshable && !withBody) {
            await response.body.dump();
            supplied = await source.credential({ forceRefresh: true });
            response = await send(supplied.credential);
            context.metrics.upstreamResponse(connector.name, response.statusCode);
          }
        } catch (error) {
          if (error instanceof BodyTooLarge) void reply.header('connection', 'close');
          throw upstreamFailure(error, where, host.env, maxBody);
        }
        // A status beyond 599 cannot be passed on (Fastify refuses it): the upstream's fault.
        try {
          checkStatus(response.statusCode, where);
        } catch (error) {
          dropBody(response.body);
          throw error;
        }

        // Any status upstream answers, not only those the schema lists for the proxy's own errors.
        const answer: FastifyReply = reply;
        // Links to the host the request went to lead back through the proxy (raw-links.ts).
        const returned = rewriteResponseLinks(returnedResponseHeaders(response.headers), {
          upstreamBase: new URL(effectiveHostUrl(host, env)),
          requestUrl: target,
          proxyBase: proxyBaseOf(request, address, connection.id),
        });
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
        return answer.send(response.body);
      },
    });
    done();
  });
}

/** What an upstream request's failure is, as an error the envelope can carry; no URL query (it may hold an API key). */
function upstreamFailure(error: unknown, where: string, hostVariable: string, maxBody: number): unknown {
  if (error instanceof BodyTooLarge) return tooLarge(maxBody);
  if (isConnectrError(error) || error instanceof HttpError || error instanceof FieldError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_ABORTED' || (error instanceof Error && error.name === 'AbortError'))
    return new ConnectrError('cancelled', `${where} was cancelled: the caller went away`);
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return new ConnectrError('timeout', `${where} failed: ${describeNetworkError(error)}`, {
      hint: `the API did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s; try again later`,
    });
  }
  return new ConnectrError('upstream', `${where} failed: ${describeNetworkError(error)}`, {
    hint: `the API could not be reached; check the network and the host's base URL (${hostVariable} overrides it)`,
  });
}
