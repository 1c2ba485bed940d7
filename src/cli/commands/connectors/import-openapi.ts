import { lstat } from 'node:fs/promises';
import { ConnectrError } from '../../../core/errors.js';
import { errnoOf, openOutput, outputTarget } from '../../../core/fs/files.js';
import { importOpenApi } from '../../../core/openapi/import.js';
import type { CliContext } from '../../context.js';
import { write } from '../../io.js';
import type { ImportFlags } from './register.js';

/**
 * Imports an OpenAPI document as a connector definition: the YAML to stdout, or to --out
 * (never over an existing file without --force; written to a temporary file and renamed, so an
 * interrupted import leaves nothing half-written). What was not mapped goes to stderr too.
 */
export async function importOpenApiCommand(
  ctx: CliContext,
  source: string,
  flags: ImportFlags,
): Promise<void> {
  if (flags.out !== undefined && !flags.force) {
    const exists = await lstat(flags.out).then(
      () => true,
      (error: unknown) => {
        if (errnoOf(error) === 'ENOENT') return false;
        throw error;
      },
    );
    if (exists) {
      throw new ConnectrError('invalid_input', `${flags.out} exists; not replacing it`, {
        hint: 'add --force to replace it, or choose another --out',
      });
    }
  }
  const result = await importOpenApi(source, { name: flags.name, env: ctx.env, signal: ctx.signal });

  if (flags.out === undefined) {
    write(ctx.io.stdout, result.yaml);
  } else {
    const file = await openOutput(await outputTarget(flags.out));
    try {
      await new Promise<void>((resolve, reject) => {
        file.stream.once('error', reject);
        file.stream.end(result.yaml, () => {
          resolve();
        });
      });
      await file.commit();
    } catch (error) {
      await file.discard();
      throw error;
    }
  }

  const { out } = ctx;
  if (flags.out !== undefined && out.json) {
    out.printJson({
      file: flags.out,
      name: result.name,
      operations: result.operations,
      endpoints: result.endpoints,
      unmapped: result.unmapped,
      review: result.review,
    });
    return;
  }
  const where = flags.out === undefined ? '' : ` to ${flags.out}`;
  out.info(
    `Imported ${result.endpoints} endpoint(s) of ${result.operations} operation(s) as connector "${result.name}"${where}.`,
  );
  if (result.unmapped.length > 0) {
    out.info(`Not mapped (${result.unmapped.length}), also listed at the top of the file:`);
    for (const line of result.unmapped.slice(0, 20)) out.info(`  - ${line}`);
    if (result.unmapped.length > 20) out.info(`  ... and ${result.unmapped.length - 20} more`);
  }
  if (result.review.length > 0) out.info(`${result.review.length} guess(es) marked "review:" in the file.`);
  if (flags.out !== undefined) out.info(`Check it: connectr connectors validate ${flags.out}`);
}
