import * as z from 'zod';
import type { Connector } from '../../../core/connector/model.js';
import type { Registry } from '../../../core/connector/registry.js';
import { ConnectrError } from '../../../core/errors.js';
import { closest } from '../../../core/suggest.js';

/** The `{name}` of the connector routes: the format connector names have, bounded. */
export const ConnectorParams = z.object({
  name: z
    .string()
    .max(64, { message: 'a connector name has at most 64 characters' })
    .regex(/^[a-z][a-z0-9_-]*$/, {
      message: 'expected a connector name: lowercase letters, digits, "-" and "_", starting with a letter',
    })
    .describe('The connector, e.g. gmail.'),
});

/** The connector called `name`, or a 404 that suggests the nearest name. */
export function requireConnector(registry: Registry, name: string): Connector {
  const found = registry.get(name);
  if (found) return found;
  const suggestion = closest(
    name,
    registry.connectors.map((c) => c.name),
  );
  throw new ConnectrError('not_found', `unknown connector "${name}"`, {
    hint: suggestion
      ? `did you mean "${suggestion}"? GET /api/v1/connectors lists them all`
      : 'GET /api/v1/connectors lists them all',
  });
}
