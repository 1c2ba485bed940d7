import Fastify, { LogController } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { ConnectrError } from '../core/errors.js';
import type { ConnectionLimits } from './connection-limits.js';
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  limitConnections,
} from './connection-limits.js';
import type { ServerDeps } from './contracts.js';
import { settingsOf } from './settings.js';
import { loggedFault } from './errors.js';
import { Metrics } from './metrics.js';
import { openUpstream } from './upstream.js';
import { openCallLog } from './call-log/open.js';
import type { CallLogOptions } from './call-log/open.js';
import { SIGN_IN_PURGE_EVERY_MS, startSignInPurge } from './oauth/purge.js';
import { startRounds } from './rounds.js';
import { healthDeps } from './health/check.js';
import { startHealthTask } from './health/task.js';
import { listenForChanges } from './store/notify.js';
import { DEFAULT_MAX_PENDING_SIGN_INS } from './store/oauth-sessions.js';
import { installApiKeyAuth } from './plugins/auth.js';
import { installCors } from './plugins/cors.js';
import { installDocs } from './plugins/docs.js';
import { installEarlyClose } from './plugins/early-close.js';
import { errorHandling } from './plugins/errors.js';
import { installJsonBody } from './plugins/json-body.js';
import type { LogDestination, LogLevel } from './plugins/logging.js';
import { installAccessLog, loggerOptions } from './plugins/logging.js';
import { installMetrics } from './plugins/metrics.js';
import { installRequestId, requestIdFor } from './plugins/request-id.js';
import { serializerCompiler } from './plugins/serializer.js';
import { registerCreateConnection } from './routes/connections/create.js';
import { registerPutCredentials } from './routes/connections/credentials.js';
import { registerDeleteConnection } from './routes/connections/delete.js';
import { registerListConnections } from './routes/connections/list.js';
import { registerShowConnection } from './routes/connections/show.js';
import { registerUpdateConnection } from './routes/connections/update.js';
import { registerGetToken } from './routes/connections/token.js';
import { registerCheckConnection } from './routes/connections/check.js';
import { registerListEndpoints } from './routes/connectors/endpoints.js';
import { registerListConnectors } from './routes/connectors/list.js';
import { registerListVersions } from './routes/connectors/versions.js';
import { registerShowConnector } from './routes/connectors/show.js';
import { registerAssets } from './routes/assets/get.js';
import { registerConsole } from './console/register.js';
import { registerHealth } from './routes/health/get.js';
import { registerMetrics } from './routes/metrics/get.js';
import { registerOpenApi } from './routes/openapi/get.js';
import { registerOAuthAuthorize } from './routes/oauth/authorize.js';
import { registerOAuthCallbackApi } from './routes/oauth/callback-post.js';
import { registerOAuthCallbackPage } from './routes/oauth/callback-get.js';
import { parsePublicUrl } from './routes/oauth/urls.js';
import { registerMcp } from './routes/mcp/post.js';
import { registerExecute } from './routes/proxy/execute.js';
import { rateLimitService } from './limits/build.js';
import { registerConnectorLimits } from './routes/connectors/limits.js';
import { registerRawProxy } from './routes/proxy/raw.js';
import { registerReady } from './routes/ready/get.js';
import { registerProviderPush } from './routes/provider-events/receive.js';
import { registerCreateSubscription } from './routes/subscriptions/create.js';
import { registerDeleteSubscription } from './routes/subscriptions/delete.js';
import { registerListSubscriptions } from './routes/subscriptions/list.js';
import { subscriptionDeps } from './routes/subscriptions/shape.js';
import { startSubscriptionTask } from './subscriptions/task.js';
import { registerDeleteOAuthApp } from './routes/oauth-apps/delete.js';
import { registerListOAuthApps } from './routes/oauth-apps/list.js';
import { registerPutOAuthApp } from './routes/oauth-apps/put.js';
import { registerCreateWebhook } from './routes/webhooks/create.js';
import { registerDeleteWebhook } from './routes/webhooks/delete.js';
import { registerListDeliveries } from './routes/webhooks/deliveries.js';
import { registerListWebhooks } from './routes/webhooks/list.js';
import { registerRedeliver } from './routes/webhooks/redeliver.js';
import { registerListLogs } from './routes/logs/list.js';
import { registerCreateConnectSession } from './routes/connect/sessions.js';
import { registerConnectSettings } from './routes/connect/settings.js';
import { registerConnectPages } from './web/connect/routes.js';
import { registerRotateWebhookSecret } from './routes/webhooks/rotate-secret.js';
import { registerShowWebhook } from './routes/webhooks/show.js';
import { registerTestWebhook } from './routes/webhooks/test-event.js';
import { registerUpdateWebhook } from './routes/webhooks/update.js';
import type { App, RouteContext } from './types.js';
import { startWebhookWorker } from './webhooks/worker.js';
import type { WebhookWorkerOptions } from './webhooks/worker.js';

/**
 * The HTTP server as a Fastify instance, built from its dependencies and NOT listening:
 * `connectr serve` calls `listen`, tests call `inject` (or `listen` on port 0). Every route's
 * zod schemas validate its input, type its handler and describe it in /openapi.json.
 */

export interface AppOptions {
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get a 413. */
  readonly bodyLimit?: number;
  /**
   * A socket with no traffic for this long is closed (ms; default 2 minutes: above the upstream
   * time-out, as a caller waits in silence while an API answers).
   */
  readonly connectionTimeout?: number;
  /** A request's headers must arrive within this time of its start, or of the connection (ms; default 10 s). */
  readonly headersTimeout?: number;
  /** The whole request, body included, must arrive within this time (ms; default 30 s). */
  readonly requestTimeout?: number;
  /** An idle keep-alive connection is closed after this (ms; default 72 s, above common load balancers' 60 s). */
  readonly keepAliveTimeout?: number;
  /**
   * Most client connections open at once, and from one address (0: no cap of its own); over a
   * cap the longest-waiting connection without a request in progress is closed to make room
   * (connection-limits.ts). Default 1000 and 200.
   */
  readonly connections?: ConnectionLimits;
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
  /** The most browser sign-ins one project may have pending (`serve --max-sign-ins`; default 1000). */
  readonly maxPendingSignIns?: number;
  /** How often finished sign-ins are deleted (ms; default 10 minutes). */
  readonly signInPurgeEveryMs?: number;
  /** How often rate-limit keys idle for an hour are deleted (ms; default 10 minutes). */
  readonly limitKeyPurgeEveryMs?: number;
  /**
   * The webhook delivery worker (webhooks/worker.ts): its retry schedule, poll interval and time
   * limit (default: CONNECTR_WEBHOOK_POLL_MS, CONNECTR_WEBHOOK_TIMEOUT_MS); `false`: none in this
   * app (its events wait for another instance).
   */
  readonly webhooks?: WebhookWorkerOptions | false;
  /** How often the health task runs (ms; 0: never); default CONNECTR_HEALTH_INTERVAL_MS. */
  readonly healthEveryMs?: number;
  /** How often subscriptions are renewed (ms; 0: never); default CONNECTR_SUBSCRIPTION_INTERVAL_MS. */
  readonly subscriptionEveryMs?: number;
  /**
   * On PostgreSQL, listen for the other instances' changes (store/notify.ts); `false`: not in
   * this app, which then sees them after CONNECTR_CACHE_MS.
   */
  readonly listen?: boolean;
  /** The call log's flush and retention sweep periods (call-log/open.ts). */
  readonly callLog?: CallLogOptions;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export async function buildApp(deps: ServerDeps, options: AppOptions = {}): Promise<App> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) {
    throw new ConnectrError('usage', `the body limit must be a positive number of bytes, not ${bodyLimit}`);
  }
  const maxPendingSignIns = options.maxPendingSignIns ?? DEFAULT_MAX_PENDING_SIGN_INS;
  if (!Number.isSafeInteger(maxPendingSignIns) || maxPendingSignIns < 1) {
    throw new ConnectrError(
      'usage',
      `the most pending sign-ins per project must be a whole number of at least 1, not ${maxPendingSignIns}`,
    );
  }
  const requestTimeout = options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Node refuses a headers time-out longer than the request's; the request's bound wins.
  const headersTimeout = Math.min(options.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout);
  for (const [name, value] of [
    ['request', requestTimeout],
    ['headers', headersTimeout],
  ] as const)
    if (!Number.isSafeInteger(value) || value < 1)
      throw new ConnectrError('usage', `the ${name} time-out must be a positive number of ms, not ${value}`);
  const connections = options.connections ?? {
    max: DEFAULT_MAX_CONNECTIONS,
    perAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  };
  if (!Number.isSafeInteger(connections.max) || connections.max < 1)
    throw new ConnectrError('usage', `the connection cap must be at least 1, not ${connections.max}`);
  if (!Number.isSafeInteger(connections.perAddress) || connections.perAddress < 0)
    throw new ConnectrError(
      'usage',
      `the connection cap per address must be 0 or more, not ${connections.perAddress}`,
    );
  const publicUrl = options.publicUrl === undefined ? undefined : parsePublicUrl(options.publicUrl);
  const metrics = options.metrics ?? new Metrics();
  const errors = errorHandling(bodyLimit);
  const app: App = Fastify({
    bodyLimit,
    connectionTimeout: options.connectionTimeout ?? 120_000,
    requestTimeout,
    keepAliveTimeout: options.keepAliveTimeout ?? 72_000,
    http: {
      requestTimeout,
      headersTimeout,
      // Node checks both time-outs on this period (30 s by default), so a slow client kept its
      // socket up to 30 s past them: a few checks per time-out, at least once a second.
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
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
  limitConnections(app.server, connections, ({ closed, refused }) => {
    app.log.warn(
      { closed, refused, max: connections.max, perAddress: connections.perAddress },
      `connection caps reached in the last 10 s: ${closed} waiting connections closed to make room, ${refused} new ones refused (503)`,
    );
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const upstream = openUpstream(deps.env ?? {});
  app.addHook('onClose', () => upstream.close());
  if (deps.data) {
    const stopPurge = startSignInPurge(deps.data, {
      everyMs: options.signInPurgeEveryMs ?? SIGN_IN_PURGE_EVERY_MS,
      now: deps.now ?? Date.now,
      onError: (error) => {
        app.log.warn({ err: error }, 'purging finished sign-ins failed; trying again at the next tick');
      },
    });
    app.addHook('onClose', stopPurge);
    if (options.webhooks !== false) {
      const settings = settingsOf({ settings: deps.settings, env: deps.env });
      const worker = startWebhookWorker(
        deps.data,
        {
          pollMs: settings.CONNECTR_WEBHOOK_POLL_MS,
          timeoutMs: settings.CONNECTR_WEBHOOK_TIMEOUT_MS,
          ...options.webhooks,
        },
        {
          now: deps.now ?? Date.now,
          onOutcome: (result) => {
            metrics.webhookDelivery(result);
          },
          onOldest: (oldest) => {
            metrics.oldestUndeliveredEvent(oldest);
          },
          onError: (error) => {
            app.log.warn(
              { err: loggedFault(error) },
              'webhook deliveries: a pass failed; trying again at the next poll',
            );
          },
        },
      );
      app.addHook('onClose', () => worker.stop());
    }
  }
  const calls = await openCallLog(app, deps, metrics, options.callLog);
  const context: RouteContext = {
    deps,
    metrics,
    upstream: upstream.dispatcher,
    calls,
    limits: deps.data && rateLimitService(deps, deps.data, metrics, app.log),
  };
  const { limits } = context;
  if (limits) {
    const stopLimitKeys = startRounds(
      options.limitKeyPurgeEveryMs ?? SIGN_IN_PURGE_EVERY_MS,
      () => limits.purgeIdle(),
      (error) => {
        app.log.warn({ err: error }, 'purging idle rate-limit keys failed; trying again at the next tick');
      },
    );
    app.addHook('onClose', stopLimitKeys);
  }
  if (deps.data) {
    metrics.cacheNotices(deps.data.caches.notices.counts);
    const listener =
      options.listen === false
        ? undefined
        : listenForChanges(deps.data.database, deps.data.caches.notices, settingsOf(deps), app.log);
    if (listener) app.addHook('onClose', () => listener.stop());
    const stopHealth = startHealthTask(
      healthDeps(context, options.healthEveryMs ?? settingsOf(deps).CONNECTR_HEALTH_INTERVAL_MS),
      {
        onError: (error) => {
          app.log.warn({ err: error }, 'a connection health round failed; trying again at the next tick');
        },
      },
    );
    app.addHook('onClose', stopHealth);
    const stopRenewals = startSubscriptionTask(
      subscriptionDeps(context, publicUrl),
      options.subscriptionEveryMs ?? settingsOf(deps).CONNECTR_SUBSCRIPTION_INTERVAL_MS,
      {
        onError: (error) => {
          app.log.warn(
            { err: loggedFault(error) },
            'a subscription renewal round failed; trying again at the next tick',
          );
        },
        onFailure: (subscription, error) => {
          app.log.warn(
            { err: loggedFault(error), subscription: subscription.id, connection: subscription.connectionId },
            'a subscription was not renewed; trying again at the next tick',
          );
        },
      },
    );
    app.addHook('onClose', stopRenewals);
  }
  // Hooks run in the order installed: the request id first (so every answer has it), then
  // the shutdown check, CORS (a preflight needs no key), and authentication last.
  errors.install(app);
  installJsonBody(app);
  installRequestId(app);
  installAccessLog(app);
  installClosing(app);
  installEarlyClose(app);
  installMetrics(app, metrics);
  installCors(app, options.corsOrigins ?? []);
  installApiKeyAuth(app, deps.apiKeys);
  await installDocs(app);

  registerHealth(app);
  registerAssets(app);
  registerReady(app, context, options.readyTimeoutMs ?? 5000);
  registerMetrics(app, context);
  registerOpenApi(app);
  registerListConnectors(app, context);
  registerShowConnector(app, context);
  registerListEndpoints(app, context);
  registerListVersions(app, context);
  registerConnectorLimits(app, context);
  registerCreateConnection(app, context);
  registerListConnections(app, context);
  registerShowConnection(app, context);
  registerUpdateConnection(app, context);
  registerDeleteConnection(app, context);
  registerPutCredentials(app, context);
  registerGetToken(app, context);
  registerCheckConnection(app, context);
  registerProviderPush(app, context);
  registerCreateSubscription(app, context, publicUrl);
  registerListSubscriptions(app, context);
  registerDeleteSubscription(app, context);
  registerOAuthAuthorize(
    app,
    context,
    { publicUrl, trustProxy: Boolean(options.trustProxy) },
    maxPendingSignIns,
  );
  registerOAuthCallbackPage(app, context);
  registerOAuthCallbackApi(app, context);
  registerExecute(app, context);
  registerMcp(app, context);
  registerPutOAuthApp(app, context);
  registerListOAuthApps(app, context);
  registerDeleteOAuthApp(app, context);
  registerRawProxy(app, context, { publicUrl, trustProxy: Boolean(options.trustProxy) });
  registerCreateWebhook(app, context);
  registerListWebhooks(app, context);
  registerShowWebhook(app, context);
  registerUpdateWebhook(app, context);
  registerDeleteWebhook(app, context);
  registerRotateWebhookSecret(app, context);
  registerTestWebhook(app, context);
  registerListDeliveries(app, context);
  registerRedeliver(app, context);
  registerListLogs(app, context);
  registerCreateConnectSession(app, context, { publicUrl, trustProxy: Boolean(options.trustProxy) });
  registerConnectSettings(app, context);
  registerConnectPages(
    app,
    context,
    { publicUrl, trustProxy: Boolean(options.trustProxy) },
    maxPendingSignIns,
  );
  // The admin console; its "Re-authorise" button opens the Connect page for the connection.
  registerConsole(app, context, {
    address: { publicUrl, trustProxy: Boolean(options.trustProxy) },
    maxPendingSignIns,
  });
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
