import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { ConnectrError } from '../../../core/errors.js';
import type { ErrorCode } from '../../../core/errors.js';
import { MAX_PUSH_BYTES } from '../../../core/provider-events/parts.js';
import type { Verdict } from '../../../core/provider-events/types.js';
import { COMMON_ERRORS, ErrorEnvelopeSchema } from '../../errors.js';
import { receivePush } from '../../services/provider-events.js';
import type { App, RouteContext } from '../../types.js';
import { requireData } from '../../types.js';
import { recordProviderEvent } from '../../webhooks/provider-event.js';

/** Where providers push; public (the provider's own signature is the authentication, plugins/auth.ts). */
export const PROVIDER_PUSH_PREFIX = '/webhooks/providers';

const Params = z.object({
  connector: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9_-]*$/, { message: 'expected a connector name' })
    .describe('The connector, e.g. dropbox.'),
  project: z
    .string()
    .max(64)
    .regex(/^prj_[a-z0-9]+$/, { message: 'expected a project id (prj_…)' })
    .optional()
    .describe('The project, for providers whose push must name it (a Gmail push URL with its token).'),
});

const REFUSAL_CODES: Readonly<Record<Extract<Verdict, { kind: 'refused' }>['status'], ErrorCode>> = {
  400: 'invalid_input',
  401: 'auth_required',
  403: 'forbidden',
  405: 'invalid_input',
  413: 'payload_too_large',
};

/**
 * `GET|POST /webhooks/providers/{connector}[/{project}]`: a provider's handshake or push. The
 * body is read raw (signatures are over its bytes), bounded by MAX_PUSH_BYTES; the answer is
 * the provider's: its handshake echoed as text/plain, 200 or 202 once the events are recorded,
 * 401/403 (in connectr's envelope) when the push does not verify. 404 for a connector that is
 * unknown or declares no `webhooks:`.
 */
export function registerProviderPush(app: App, context: RouteContext): void {
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_PUSH_BYTES },
      (_request, body, parsed) => {
        parsed(null, body);
      },
    );
    for (const url of [`${PROVIDER_PUSH_PREFIX}/:connector`, `${PROVIDER_PUSH_PREFIX}/:connector/:project`]) {
      scope.withTypeProvider<ZodTypeProvider>().route({
        method: ['GET', 'POST'],
        url,
        schema: {
          summary: "Receive a provider's push (webhook)",
          description:
            "Public: the provider's signature (or Graph's clientState, or the Gmail push's token or OIDC token) is the authentication. See docs/webhooks.md, \"Provider events\".",
          tags: ['provider-events'],
          params: Params,
          response: {
            200: {
              description:
                "The handshake's token echoed (text/plain, nosniff), or empty: the events are recorded.",
              content: { 'text/plain': { schema: z.string() } },
            },
            202: {
              description: 'Microsoft Graph: the notifications are recorded.',
              content: { 'text/plain': { schema: z.string() } },
            },
            404: ErrorEnvelopeSchema,
            403: ErrorEnvelopeSchema,
            413: ErrorEnvelopeSchema,
            ...COMMON_ERRORS,
          },
        },
        handler: async (request, reply) => {
          const { connector: name, project } = request.params;
          const connector = (await context.deps.registry()).get(name);
          if (!connector?.webhooks) {
            throw new ConnectrError('not_found', `no provider pushes are received for "${name}"`, {
              hint: 'a connector receives pushes when its definition declares webhooks: (docs/connectors.md)',
            });
          }
          const queryAt = request.url.indexOf('?');
          const verdict = await receivePush(
            {
              data: requireData(context),
              metrics: context.metrics,
              now: context.deps.now ?? Date.now,
              record: context.deps.providerEvents?.record ?? recordProviderEvent,
              oidc: context.deps.providerEvents?.oidc,
            },
            { ...connector, webhooks: connector.webhooks },
            project,
            {
              method: request.method,
              query: new URLSearchParams(queryAt < 0 ? '' : request.url.slice(queryAt + 1)),
              headers: request.headers,
              body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
            },
          );
          if (verdict.kind === 'refused') {
            throw new ConnectrError(REFUSAL_CODES[verdict.status], `the push was refused: ${verdict.reason}`);
          }
          if (verdict.kind === 'handshake') {
            return reply
              .code(200)
              .header('content-type', 'text/plain; charset=utf-8')
              .header('x-content-type-options', 'nosniff')
              .send(verdict.body);
          }
          return reply.code(verdict.status).header('content-type', 'text/plain; charset=utf-8').send('');
        },
      });
    }
    done();
  });
}
