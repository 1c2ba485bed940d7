import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ConnectrError } from '../core/errors.js';
import type { ServerData, ServerDeps } from './contracts.js';
import type { Metrics } from './metrics.js';
import type { CallLog } from './call-log/trace.js';
import type { RateLimitService } from './limits/service.js';

/** The Fastify instance `buildApp` returns: zod schemas type every route's input and output. */
export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What a route's register function is given besides the app. */
export interface RouteContext {
  readonly deps: ServerDeps;
  readonly metrics: Metrics;
  /** The pool APIs are called through (upstream.ts), closed with the app. */
  readonly upstream: Dispatcher;
  /** Where execute, the raw proxy and MCP record each call (call-log/trace.ts). */
  readonly calls: CallLog;
  /** The connectors' rate limits (limits/service.ts); absent without a database. */
  readonly limits?: RateLimitService | undefined;
}

/** The database behind a resource route; an internal error where the app was built without one (HTTP-layer tests). */
export function requireData(context: RouteContext): ServerData {
  if (context.deps.data) return context.deps.data;
  throw new ConnectrError('internal', 'this server was built without its database');
}
