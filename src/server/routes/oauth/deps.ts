import type { FastifyBaseLogger } from 'fastify';
import type { FlowDeps } from '../../oauth/flow.js';
import type { RouteContext } from '../../types.js';
import { requireData } from '../../types.js';

/** The OAuth flow's dependencies for one request: the store, the environment, the request's log. */
export function flowDeps(context: RouteContext, log: FastifyBaseLogger): FlowDeps {
  return {
    data: requireData(context),
    env: context.deps.env ?? {},
    ...(context.deps.now ? { now: context.deps.now } : {}),
    notify: (message) => {
      log.warn(message);
    },
  };
}
