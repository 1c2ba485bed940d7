import * as z from 'zod/mini';
import { ConnectorSchema } from './schema.js';

/**
 * The connector format as JSON Schema, for editors: a file that starts with
 * `# yaml-language-server: $schema=<this file>` gets completion and hover docs.
 * Generated from the zod schema so the two cannot drift apart.
 */
export function connectorJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(ConnectorSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  });
  return {
    $schema: generated.$schema,
    title: 'connectr connector definition',
    description:
      'Describes an HTTP API for connectr: hosts, authentication and endpoints. See docs/connectors.md.',
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema')),
  };
}
