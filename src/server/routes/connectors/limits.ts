import type { FastifyRequest } from 'fastify';
import * as z from 'zod';
import type { Connector } from '../../../core/connector/model.js';
import { ConnectrError } from '../../../core/errors.js';
import type { RateLimitRule } from '../../../core/limits/spec.js';
import {
  DEFAULT_MAX_WAIT_MS,
  LIMIT_PERIOD_NAMES,
  LIMIT_SCOPES,
  MAX_LIMITS,
  MAX_LIMIT_REQUESTS,
  limitProblems,
} from '../../../core/limits/spec.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema, FieldError } from '../../errors.js';
import { MaxWaitMs } from '../../limits/max-wait.js';
import type { RateLimitService } from '../../limits/service.js';
import { identityOf } from '../../plugins/auth.js';
import type { App, RouteContext } from '../../types.js';
import { ConnectorParams, requireConnector } from './name.js';

/**
 * `GET`, `PUT` and `DELETE /api/v1/connectors/{name}/limits`: the rate limits connectr keeps for
 * a connector in the caller's project (docs/limits.md). PUT replaces the definition's limits
 * for this project alone (an empty list: none); DELETE goes back to the definition's. Every
 * instance honours a change within the cache time; the one that made it, at once.
 */

const Rule = z
  .strictObject({
    scope: z
      .enum(LIMIT_SCOPES)
      .describe(
        "connection: one budget per connection; connector: one for all the project's connections of it.",
      ),
    requests: z.number().int().min(1).max(MAX_LIMIT_REQUESTS).describe('Calls allowed per period.'),
    per: z.enum(LIMIT_PERIOD_NAMES as [string, ...string[]]).describe('The period: 1s, 1m or 1h.'),
    burst: z
      .number()
      .int()
      .min(1)
      .max(MAX_LIMIT_REQUESTS)
      .optional()
      .describe('Calls that may go at once after a quiet time (default 1: evenly spaced); at most requests.'),
    endpoints: z
      .array(z.string().min(1).max(128))
      .min(1)
      .max(1000)
      .optional()
      .describe(
        "The endpoints counted (GET /api/v1/connectors/{name}/endpoints); absent: every call, the raw proxy's too.",
      ),
  })
  .describe('One limit: at most requests + burst - 1 calls in any window of per.');

const LimitsBody = z.strictObject({
  limits: z.array(Rule).max(MAX_LIMITS).describe('The limits; an empty list: no limit for this project.'),
  max_wait_ms: MaxWaitMs.optional().describe(
    "How long a call waits its turn before a 429 rate_limited (default: the definition's, else 10000).",
  ),
});

const LimitsAnswer = z.object({
  connector: z.string(),
  source: z
    .enum(['connector', 'project'])
    .describe("project: this project's own limits (PUT); connector: the definition's."),
  max_wait_ms: z.number().int(),
  limits: z.array(Rule),
});

export function registerConnectorLimits(app: App, context: RouteContext): void {
  const url = '/api/v1/connectors/:name/limits';
  const answer = (
    service: RateLimitService,
    projectId: string,
    connector: Connector,
  ): z.infer<typeof LimitsAnswer> => {
    const { limits, source } = service.effective(projectId, connector);
    return {
      connector: connector.name,
      source,
      max_wait_ms: limits?.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      limits: (limits?.limits ?? []).map(ruleJson),
    };
  };
  app.get(
    url,
    {
      schema: {
        summary: "Get a connector's rate limits in this project",
        description:
          "The limits in force for the caller's project: its own (PUT), else the connector definition's.",
        tags: ['connectors'],
        params: ConnectorParams,
        response: { 200: LimitsAnswer, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId, connector, service } = await targetOf(context, request, request.params.name);
      await service.refresh();
      return answer(service, projectId, connector);
    },
  );
  app.put(
    url,
    {
      schema: {
        summary: "Set a connector's rate limits in this project",
        description:
          "Replaces the definition's limits for the caller's project alone; an empty list removes every limit. Each endpoint named must be the connector's; a limit may not be given twice (same scope, period and endpoints).",
        tags: ['connectors'],
        params: ConnectorParams,
        body: LimitsBody,
        response: { 200: LimitsAnswer, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId, connector, service } = await targetOf(context, request, request.params.name);
      const limits = request.body.limits.map(ruleOf);
      const problems = limitProblems(
        limits,
        connector.endpoints.map((e) => e.name),
      );
      if (problems.length > 0)
        throw new FieldError(
          problems.map((p) => ({ field: ['body', 'limits', ...p.path].join('.'), message: p.message })),
          `the limits for ${connector.name} are not valid: ${problems[0]?.message ?? ''}`,
          { hint: `GET /api/v1/connectors/${connector.name}/endpoints lists its endpoints` },
        );
      await service.override(projectId, connector.name, {
        limits,
        maxWaitMs: request.body.max_wait_ms ?? null,
      });
      return answer(service, projectId, connector);
    },
  );
  app.delete(
    url,
    {
      schema: {
        summary: "Go back to the definition's rate limits in this project",
        tags: ['connectors'],
        params: ConnectorParams,
        response: { 200: LimitsAnswer, 404: ErrorEnvelopeSchema, ...COMMON_ERRORS },
      },
    },
    async (request) => {
      const { projectId, connector, service } = await targetOf(context, request, request.params.name);
      await service.removeOverride(projectId, connector.name);
      return answer(service, projectId, connector);
    },
  );
}

/** The caller's project, the named connector (else a 404) and the limits service. */
async function targetOf(
  context: RouteContext,
  request: FastifyRequest,
  name: string,
): Promise<{ projectId: string; connector: Connector; service: RateLimitService }> {
  const { projectId } = identityOf(request);
  const connector = requireConnector(await context.deps.registry(), name);
  if (!context.limits) throw new ConnectrError('internal', 'this server was built without its database');
  return { projectId, connector, service: context.limits };
}

/** A limit as the API takes it: the optional fields only when given. */
function ruleOf(rule: z.infer<typeof Rule>): RateLimitRule {
  return {
    scope: rule.scope,
    requests: rule.requests,
    per: rule.per as RateLimitRule['per'],
    ...(rule.burst === undefined ? {} : { burst: rule.burst }),
    ...(rule.endpoints === undefined ? {} : { endpoints: rule.endpoints }),
  };
}

function ruleJson(rule: RateLimitRule): z.infer<typeof Rule> {
  return {
    scope: rule.scope,
    requests: rule.requests,
    per: rule.per,
    ...(rule.burst === undefined ? {} : { burst: rule.burst }),
    ...(rule.endpoints === undefined ? {} : { endpoints: [...rule.endpoints] }),
  };
}
