import type { Command } from 'commander';
import { COMMAND_LINE_DEFAULTS } from '../../core/calls/defaults.js';

/** `--retries` and `--timeout`, as `call` and `api` both take them (send.ts checks their values). */
export function addAttemptOptions(command: Command): Command {
  return command
    .option(
      '--retries <n>',
      'retries on rate limits, overload and network errors',
      COMMAND_LINE_DEFAULTS.retries,
    )
    .option(
      '--timeout <duration>',
      'time limit for the server to answer, and for each pause in a transfer',
      COMMAND_LINE_DEFAULTS.timeout,
    );
}
