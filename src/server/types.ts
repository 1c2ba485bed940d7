import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ServerDeps } from './contracts.js';
import type { Metrics } from './metrics.js';

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
}
