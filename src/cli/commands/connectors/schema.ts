import { connectorJsonSchema } from '../../../core/connector/json-schema.js';
import type { CliContext } from '../../context.js';

/** Always indented: this output is meant to be saved as a file. */
export function printSchema(ctx: CliContext): Promise<void> {
  ctx.io.stdout.write(`${JSON.stringify(connectorJsonSchema(), null, 2)}\n`);
  return Promise.resolve();
}
