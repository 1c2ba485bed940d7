import { ConnectrError } from '../errors.js';
import type { InvokeOptions } from '../engine/invoke.js';

/**
 * How patient a call is unless its caller says otherwise. A program's call (the daemon's
 * execute, MCP tools, connectr/local) holds a request or an agent waiting; a person at a
 * terminal (`connectr call`, `connectr api`) would rather wait longer than start again.
 */
export const CALL_DEFAULTS: InvokeOptions = { retries: 2, timeoutMs: 30_000 };

/** The command line's defaults, as its flags take them (`--retries 3`, `--timeout 60s`). */
export const COMMAND_LINE_DEFAULTS = { retries: '3', timeout: '60s' } as const;

/** What a program may say of its call's patience; absent parts take CALL_DEFAULTS. */
export interface CallPatience {
  /** Retries of a failed idempotent attempt. */
  readonly retries?: number | undefined;
  /** Time limit for each attempt to start answering, and for each pause in a transfer. */
  readonly timeoutMs?: number | undefined;
}

/** A program's retries and time limit, checked, with the defaults for what it left out. */
export function callOptions(given: CallPatience = {}): InvokeOptions {
  return {
    retries: wholeNumber(given.retries, 'retries') ?? CALL_DEFAULTS.retries,
    timeoutMs: positiveNumber(given.timeoutMs, 'timeoutMs') ?? CALL_DEFAULTS.timeoutMs,
  };
}

/** A limit a program gives as a number (maxPages, limit): absent, or a whole number from 1. */
export function positiveNumber(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new ConnectrError('invalid_input', `${name} must be a positive whole number, not ${String(value)}`);
  return value;
}

function wholeNumber(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ConnectrError(
      'invalid_input',
      `${name} must be a whole number (0 or more), not ${String(value)}`,
    );
  return value;
}
