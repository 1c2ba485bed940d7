import { formatProblem } from '../../../core/connector/problem.js';
import type { ConnectorOrigin } from '../../../core/connector/model.js';
import {
  BUILTIN_CONNECTORS_DIR,
  expandPaths,
  listConnectorFiles,
  loadConnectorFile,
} from '../../../core/connector/registry.js';
import { ConnectrError } from '../../../core/errors.js';
import type { CliContext } from '../../context.js';

interface Checked {
  readonly file: string;
  readonly valid: boolean;
  readonly name?: string;
  readonly endpoints?: number;
  readonly problems: readonly { line: number; column: number; path: string; message: string }[];
}

/** Validates the named files (or every file connectr loads) and fails if any is invalid. */
export async function validateConnectors(ctx: CliContext, paths: readonly string[]): Promise<void> {
  const targets: { file: string; origin: ConnectorOrigin }[] = [];
  if (paths.length > 0) {
    for (const file of await expandPaths(paths)) targets.push({ file, origin: 'extra' });
  } else {
    for (const file of listConnectorFiles(BUILTIN_CONNECTORS_DIR, true))
      targets.push({ file, origin: 'builtin' });
    for (const file of listConnectorFiles(ctx.paths.userConnectorsDir, false))
      targets.push({ file, origin: 'user' });
    for (const dir of ctx.connectorDirs) {
      for (const file of listConnectorFiles(dir, true)) targets.push({ file, origin: 'extra' });
    }
  }
  if (targets.length === 0) {
    throw new ConnectrError('invalid_input', 'no connector files (*.yaml, *.yml) found', {
      hint: 'name files or directories: connectr connectors validate ./my-api.yaml',
    });
  }

  const results: Checked[] = [];
  for (const { file, origin } of targets) {
    const result = await loadConnectorFile(file, origin);
    results.push(
      result.ok
        ? {
            file,
            valid: true,
            name: result.connector.name,
            endpoints: result.connector.endpoints.length,
            problems: [],
          }
        : {
            file,
            valid: false,
            problems: result.problems.map(({ line, column, path, message }) => ({
              line,
              column,
              path,
              message,
            })),
          },
    );
  }

  const { out } = ctx;
  const invalid = results.filter((r) => !r.valid);
  if (out.json) {
    out.printJson({ valid: invalid.length === 0, files: results });
  } else {
    const s = out.style;
    for (const r of results) {
      if (r.valid) {
        out.line(`${s.green('✓')} ${r.file}  ${s.dim(`${r.name ?? ''}, ${r.endpoints ?? 0} endpoints`)}`);
      } else {
        out.line(`${s.red('✗')} ${r.file}`);
        for (const p of r.problems) out.line(`    ${formatProblem({ file: r.file, ...p })}`);
      }
    }
    out.line(s.dim(`${results.length} file(s) checked, ${invalid.length} invalid`));
  }
  if (invalid.length > 0) {
    const problems = invalid.reduce((n, r) => n + r.problems.length, 0);
    throw new ConnectrError(
      'invalid_connector',
      `${invalid.length} of ${results.length} connector file(s) invalid (${problems} problem(s))`,
      { hint: 'fix the lines above; docs/connectors.md describes every field' },
    );
  }
}
