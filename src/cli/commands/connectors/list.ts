import type { CliContext } from '../../context.js';
import { table } from '../../output.js';
import { connectorSummary, originLabel } from '../../describe.js';

export async function listConnectors(ctx: CliContext): Promise<void> {
  const registry = await ctx.registry();
  const { out } = ctx;
  if (out.json) {
    out.printJson(registry.connectors.map(connectorSummary));
    return;
  }
  if (registry.connectors.length === 0) {
    out.info('No connectors found.');
    return;
  }
  out.line(
    table(
      registry.connectors,
      [
        { header: 'NAME', value: (c) => c.name },
        { header: 'AUTH', value: (c) => c.auth.type },
        { header: 'ENDPOINTS', value: (c) => String(c.endpoints.length) },
        { header: 'SOURCE', value: (c) => originLabel(c.source) },
        { header: 'DESCRIPTION', value: (c) => c.description, shrink: true },
      ],
      ctx.io.columns,
      out.style,
    ),
  );
  out.info(out.style.dim('Details: connectr connectors show <name>'));
}
