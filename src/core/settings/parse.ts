import * as z from 'zod/mini';
import { ConnectrError } from '../errors.js';
import type { Env } from '../paths.js';
import type { Refusal } from './kinds.js';

const MAX_SHOWN = 60;

/**
 * The settings a schema reads from `env` (process.env at the edge, any object in tests), or the
 * first refused value as a ConnectrError naming the variable and the fix.
 */
export function parseSettings<T>(schema: z.ZodMiniType<T, Env>, env: Env): T {
  const result = z.safeParse(schema, env);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? 'a setting');
  const refusal = (issue as { params?: Partial<Refusal & { found: string }> } | undefined)?.params;
  const input = refusal?.found ?? '';
  // JSON escapes control characters; a long value is cut, the start shows what went wrong.
  const found = JSON.stringify(input.length > MAX_SHOWN ? `${input.slice(0, MAX_SHOWN)}…` : input);
  throw new ConnectrError('invalid_input', `${name} must be ${refusal?.must ?? 'valid'} (found ${found})`, {
    hint: `set ${name} to ${refusal?.fix ?? 'a valid value'}`,
  });
}
