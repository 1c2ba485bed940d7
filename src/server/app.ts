import Fastify, { LogController } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { ConnectrError } from '../core/errors.js';
import type { ServerDeps } from './contracts.js';
import { Metrics } from './metrics.js';
import { openUpstream } from './upstream.js';
import { installApiKeyAuth } from './plugins/auth.js';
import { installCors } from './plugins/cors.js';
import { installDocs } from './plugins/docs.js';
import { errorHandling } from './plugins/errors.js';
import { installJsonBody } from './plugins/json-body.js';
import type { LogDestination, LogLevel } from './plugins/logging.js';
import { installAccessLog, loggerOptions } from './plugins/logging.js';
import { installMetrics } from './plugins/metrics.js';
import { installRequestId, requestIdFor } from './plugins/request-id.js';
import { registerCreateConnection } from './routes/connections/create.js';
import { registerPutCredentials } from './routes/connections/credentials.js';
import { registerDeleteConnection } from './routes/connections/delete.js';
import { registerListConnections } from './routes/connections/list.js';
import { registerShowConnection } from './routes/connections/show.js';
import { registerGetToken } from './routes/connections/token.js';
import { registerListEndpoints } from './routes/connectors/endpoints.js';
import { registerListConnectors } from './routes/connectors/list.js';
import { registerShowConnector } from './routes/connectors/show.js';
import { registerHealth } from './routes/health/get.js';
import { registerMetrics } from './routes/metrics/get.js';
import { registerOpenApi } from './routes/openapi/get.js';
import { registerOAuthAuthorize } from './routes/oauth/authorize.js';
import { registerOAuthCallbackApi } from './routes/oauth/callback-post.js';
import { registerOAuthCallbackPage } from './routes/oauth/callback-get.js';
import { parsePublicUrl } from './routes/oauth/urls.js';
import { registerMcp } from './routes/mcp/post.js';
import { registerExecute } from './routes/proxy/execute.js';
import { registerRawProxy } from './routes/proxy/raw.js';
import { registerReady } from './routes/ready/get.js';
import { registerDeleteOAuthApp } from './routes/oauth-apps/delete.js';
import { registerListOAuthApps } from './routes/oauth-apps/list.js';
import { registerPutOAuthApp } from './routes/oauth-apps/put.js';
import type { App, RouteContext } from './types.js';

/**
 * The HTTP server as a Fastify instance, built from its dependencies and NOT listening:
 * `connectr serve` calls `listen`, tests call `inject` (or `listen` on port 0). Every route's
 * zod schemas validate its input, type its handler and describe it in /openapi.json.
 */

export interface AppOptions {
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get a 413. */
  readonly bodyLimit?: number;
  /** A socket with no activity for this long is closed (ms; default 2 minutes). */
  readonly connectionTimeout?: number;
  /** The whole request must arrive within this time (ms; default 5 minutes). */
  readonly requestTimeout?: number;
  /** An idle keep-alive connection is closed after this (ms; default 72 s, above common load balancers' 60 s). */
  readonly keepAliveTimeout?: number;
  /** Trust X-Forwarded-* from these proxies (Fastify's trustProxy); off by default. */
  readonly trustProxy?: boolean | string;
  /** Origins allowed by CORS (exact, e.g. https://app.example.com); none by default. */
  readonly corsOrigins?: readonly string[];
  /** Where log lines go, and from which level; no logging when absent. */
  readonly log?: { readonly level?: LogLevel; readonly stream: LogDestination };
  /** The counters /metrics shows; pass one to record into it from outside the HTTP layer. */
  readonly metrics?: Metrics;
  /**
   * Where browsers reach this server (`connectr serve --public-url`): the default redirect_uri of
   * OAuth sign-ins is its /api/v1/oauth/callback. Without it: the forwarded host behind a
   * trusted proxy, else the listening address.
   */
  readonly publicUrl?: string | undefined;
  /** How long /ready waits for the database before answering 503 (ms; default 5 s). */
  readonly readyTimeoutMs?: number;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export async function buildApp(deps: ServerDeps, options: AppOptions = {}): Promise<App> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) {
    throw new ConnectrError('usage', `the body limit must be a positive number of bytes, not ${bodyLimit}`);
  }
  const publicUrl = options.publicUrl === undefined ? undefined : parsePublicUrl(options.publicUrl);
  const metrics = options.metrics ?? new Metrics();
  const errors = errorHandling(bodyLimit);
  const app: App = Fastify({
    bodyLimit,
    connectionTimeout: options.connectionTimeout ?? 120_000,
    requestTimeout: options.requestTimeout ?? 300_000,
    keepAliveTimeout: options.keepAliveTimeout ?? 72_000,
    trustProxy: options.trustProxy ?? false,
    logger: options.log ? loggerOptions(options.log.level ?? 'info', options.log.stream) : false,
    genReqId: requestIdFor,
    // installAccessLog writes one line per request instead of these two. (Through the log
    // controller: the top-level option prints a deprecation warning at every start.)
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    // While closing, requests still arriving on open connections get our own 503 (below).
    return503OnClosing: false,
    frameworkErrors: errors.frameworkErrors,
    clientErrorHandler: errors.clientErrorHandler,
    routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 200 },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const upstream = openUpstream(deps.env ?? {});
  app.addHook('onClose', () => upstream.close());
  const context: RouteContext = { deps, metrics, upstream: upstream.dispatcher };
  // Hooks run in the order installed: the request id first (so every answer has it), then
  // the shutdown check, CORS (a preflight needs no key), and authentication last.
  errors.install(app);
  installJsonBody(app);
  installRequestId(app);
  installAccessLog(app);
  installClosing(app);
  installMetrics(app, metrics);
  installCors(app, options.corsOrigins ?? []);
  installApiKeyAuth(app, deps.apiKeys);
  await installDocs(app);

  registerHealth(app);
  registerReady(app, context, options.readyTimeoutMs ?? 5000);
  registerMetrics(app, context);
  registerOpenApi(app);
  registerListConnectors(app, context);
  registerShowConnector(app, context);
  registerListEndpoints(app, context);
  registerCreateConnection(app, context);
  registerListConnections(app, context);
  registerShowConnection(app, context);
  registerDeleteConnection(app, context);
  registerPutCredentials(app, context);
  registerGetToken(app, context);
  registerOAuthAuthorize(app, context, { publicUrl, trustProxy: Boolean(options.trustProxy) });
  registerOAuthCallbackPage(app, context);
  registerOAuthCallbackApi(app, context);
  registerExecute(app, context);
  registerMcp(app, context);
  registerPutOAuthApp(app, context);
  registerListOAuthApps(app, context);
  registerDeleteOAuthApp(app, context);
  registerRawProxy(app, context, { publicUrl, trustProxy: Boolean(options.trustProxy) });
  return app;
}

/**
 * Once `close()` has begun: a request arriving on a kept-alive connection gets a 503, and every
 * answer (those in flight too) says `Connection: close`, so no client connection holds the
 * shutdown open until its keep-alive time-out.
 */
function installClosing(app: App): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    void reply.header('connection', 'close').header('retry-after', '1');
    done(
      new ConnectrError('unavailable', 'the server is shutting down', {
        hint: 'retry; another instance may answer',
      }),
    );
  });
}
