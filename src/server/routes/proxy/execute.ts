import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import * as z from 'zod';
import { callDeps } from '../../../core/calls/deps.js';
import { CallInputError, requestBody } from '../../../core/calls/input.js';
import { answer, failureOf, items, prepare } from '../../../core/calls/service.js';
import type { Connector } from '../../../core/connector/model.js';
import type { InvokeDeps } from '../../../core/engine/invoke.js';
import { ParamError } from '../../../core/engine/params.js';
import { pinnedConnector } from '../../services/connections.js';
import { routeCredentials } from '../../credentials/source.js';
import { callTarget } from '../../credentials/target.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError, envelope } from '../../errors.js';
import { identityOf } from '../../plugins/auth.js';
import { MaxWaitMs, callerMaxWait } from '../../limits/max-wait.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { ConnectionParams } from '../connections/shape.js';

/** The largest upstream answer execute reads into its JSON reply; larger ones go through the raw proxy. */
export const MAX_EXECUTE_RESPONSE_BYTES = 16 * 1024 * 1024;

const ExecuteBody = z.strictObject({
  connection_id: ConnectionParams.shape.id,
  connector: z
    .string()
    .min(1, { message: 'connector must not be empty' })
    .max(128, { message: 'a connector name has at most 128 characters' })
    .optional()
    .describe(
      "The connection's connector, e.g. gmail (the SDKs' generated classes send it): a connection of another connector is refused with a 400 instead of running its endpoint of the same name.",
    ),
  endpoint: z
    .string()
    .min(1, { message: 'endpoint must not be empty' })
    .max(128, { message: 'an endpoint name has at most 128 characters' })
    .describe("The endpoint's name, as in GET /api/v1/connectors/{name}/endpoints."),
  params: z
    .record(z.string().max(128), z.unknown())
    .default({})
    .describe(
      'Values by param name: JSON strings, numbers, booleans, arrays or objects, as the endpoint declares.',
    ),
  body: z
    .unknown()
    .optional()
    .describe(
      'A whole request body, replacing the body params: a string is sent as it is, anything else as JSON.',
    ),
  body_base64: z
    .string()
    .max(64 * 1024 * 1024, { message: 'body_base64 is too large; use the raw proxy for large uploads' })
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'body_base64 must be base64' })
    .optional()
    .describe('A binary request body (e.g. a file to upload), base64-encoded.'),
  all: z
    .boolean()
    .default(false)
    .describe("Follow the endpoint's pagination and stream every item as NDJSON, one JSON value per line."),
  max_pages: z.number().int().min(1).max(10_000).optional().describe('With all: stop after this many pages.'),
  limit: z.number().int().min(1).max(1_000_000).optional().describe('With all: stop after this many items.'),
  max_wait_ms: MaxWaitMs.optional().describe(
    "How long this call may wait its turn under the connector's rate limits before a 429 rate_limited (default: the limits' max_wait, 10000); also the x-connectr-max-wait header. docs/limits.md.",
  ),
});
const ExecuteAnswer = z.object({
  status: z
    .number()
    .int()
    .describe("The upstream API's HTTP status (the call itself succeeded: this route answered 200)."),
  headers: z
    .record(z.string(), z.string())
    .describe("The upstream answer's headers, lower-case, without cookies and hop-by-hop headers."),
  content_type: z.string().nullable(),
  encoding: z
    .enum(['json', 'text', 'base64', 'none'])
    .describe('How body holds the answer: parsed JSON, text, bytes in base64, or nothing.'),
  body: z.unknown(),
  result: z
    .unknown()
    .optional()
    .describe(
      'The JSON result some APIs put in a header (Dropbox-API-Result), parsed, when the endpoint declares one.',
    ),
});

/**
 * `POST /api/v1/proxy/execute`: one endpoint of a connection's connector, run by the same call
 * service as `connectr call` (src/core/calls/service.ts): the values checked against the
 * definition before anything is sent, the credential from the database (refreshed under a row
 * lock), retries and upload sessions as the CLI does them. The upstream answer comes back as
 * data (its status included); with `all`, every item of every page as NDJSON.
 */
export function registerExecute(app: App, context: RouteContext): void {
  app.post(
    '/api/v1/proxy/execute',
    {
      schema: {
        summary: "Run an endpoint of a connection's connector",
        description:
          'Checks params against the endpoint definition (a 400 names the bad one; nothing is sent), adds the stored credential (refreshed when needed) and returns the upstream answer as {status, headers, content_type, encoding, body}. With "all": true, an application/x-ndjson stream of every item of every page; an error after the stream started is its last line, {"error": {...}}. 409 needs_reauth when the connection must be signed in (again).',
        tags: ['execute'],
        body: ExecuteBody,
        response: {
          200: ExecuteAnswer,
          404: ErrorEnvelopeSchema,
          409: ErrorEnvelopeSchema,
          429: ErrorEnvelopeSchema,
          502: ErrorEnvelopeSchema,
          504: ErrorEnvelopeSchema,
          ...COMMON_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { projectId } = identityOf(request);
      const data = requireData(context);
      const input = request.body;
      const { connection } = await callTarget(data, projectId, input.connection_id);
      if (input.connector !== undefined && input.connector !== connection.connector) {
        throw new FieldError(
          'body.connector',
          `connection ${connection.id} is a ${connection.connector} connection, not ${input.connector}`,
          {
            hint: `use a ${input.connector} connection (GET /api/v1/connections?connector_type=${input.connector})`,
          },
        );
      }
      // The version the connection is pinned to, never another's shape.
      const connector = pinnedConnector(await context.deps.registry(), connection);
      // Checked and built before the credential is looked up: a bad value sends nothing.
      const call = namingFields(() =>
        prepare(
          {
            connector,
            endpoint: input.endpoint,
            listedBy: `GET /api/v1/connectors/${connector.name}/endpoints lists them`,
            params: input.params,
            body: requestBody({ body: input.body, base64: input.body_base64 }),
            label: (param) => `params.${param.key}`,
          },
          context.deps.env ?? {},
        ),
      );
      // A client that goes away stops the call (waits, retries, pagination) where it is.
      const abort = new AbortController();
      request.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
      const trace = context.calls.begin(request, reply, {
        kind: 'execute',
        connection,
        connector,
        endpoint: call.request.endpoint.name,
      });
      const deps = trace.deps(
        connectionCallDeps(
          context,
          connection,
          connector,
          abort.signal,
          callerMaxWait(request.headers, input.max_wait_ms),
        ),
      );
      if (input.all) {
        const found = items(call, deps, {
          // Each page is one upstream answer, counted as a single call's is.
          onPage: (status) => {
            context.metrics.upstreamResponse(connector.name, status);
          },
          maxPages: input.max_pages,
          limit: input.limit,
        });
        // The first item (or the first failure) decides the status: before it, an error is a
        // plain envelope; after it, the stream's last line.
        const first = await found.next();
        void reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store');
        // Typed replies hold the JSON schema's shape; a stream is sent through the untyped one.
        const untyped: FastifyReply = reply;
        return untyped.send(Readable.from(ndjson(first, found, request.log)));
      }
      const got = await answer(call, deps, {
        maxBytes: MAX_EXECUTE_RESPONSE_BYTES,
        tooLargeHint:
          'too large for execute: fetch it through the raw proxy, GET /api/v1/connections/{id}/proxy/{path}, which streams it',
        onStatus: (status) => {
          context.metrics.upstreamResponse(connector.name, status);
        },
      });
      // A binary body travels as base64 in JSON.
      return got.encoding === 'binary'
        ? { ...got, encoding: 'base64' as const, body: got.body.toString('base64') }
        : got;
    },
  );
}

/** A call through the daemon: the connection's credential from the database, the shared upstream pool. */
export function connectionCallDeps(
  context: RouteContext,
  connection: Parameters<typeof routeCredentials>[1],
  connector: Connector,
  signal: AbortSignal,
  maxWaitMs?: number,
): InvokeDeps {
  return callDeps(routeCredentials(context, connection, connector), {
    env: context.deps.env ?? {},
    dispatcher: context.upstream,
    signal,
    limiter: context.limits?.limiter(connection.projectId, connection.id, connector, maxWaitMs),
  });
}

/**
 * A refused input as a 400 whose details name each field at fault: `body.params.<key>` for a
 * param value, `body.<input>` for the endpoint or the body.
 */
function namingFields<T>(prepare: () => T): T {
  try {
    return prepare();
  } catch (error) {
    if (error instanceof CallInputError)
      throw new FieldError(`body.${error.input}`, error.message, { hint: error.hint });
    if (!(error instanceof ParamError)) throw error;
    throw new FieldError(
      error.params.map((p) => ({ field: `body.params.${p.key}`, message: p.problem })),
      error.message,
      { code: error.code === 'usage' ? 'usage' : 'invalid_input', hint: error.hint },
    );
  }
}

/** NDJSON lines: each item, then an error line if the pagination failed after it started. */
async function* ndjson(
  first: IteratorResult<unknown>,
  rest: AsyncGenerator,
  log: { error(object: unknown, message: string): void },
): AsyncGenerator<string> {
  if (first.done) return;
  yield `${JSON.stringify(first.value)}\n`;
  try {
    for await (const item of rest) yield `${JSON.stringify(item)}\n`;
  } catch (error) {
    const failure = failureOf(error);
    if (failure) {
      yield `${JSON.stringify(envelope(failure.code, failure.message, [], failure.hint))}\n`;
      return;
    }
    log.error({ err: error }, 'execute: pagination failed');
    yield `${JSON.stringify(envelope('internal', 'internal error'))}\n`;
  }
}
