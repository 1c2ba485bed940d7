import { diffConnectors, formatDiff } from '../../../core/connector/diff.js';
import { parseConnectorRef } from '../../../core/connector/versions.js';
import type { CliContext } from '../../context.js';

/** `connectr connectors diff gmail@1 gmail@2`: what a caller must change to move between them. */
export async function diffCommand(ctx: CliContext, from: string, to: string): Promise<void> {
  const registry = await ctx.registry();
  // Both names are read before either is looked up: a typo in the second is not hidden by the first.
  const [a, b] = [parseConnectorRef(from), parseConnectorRef(to)];
  const diff = diffConnectors(
    registry.requireVersion(a.name, a.version),
    registry.requireVersion(b.name, b.version),
  );
  if (ctx.out.json) ctx.out.printJson(diff);
  else for (const line of formatDiff(diff)) ctx.out.line(line);
}
