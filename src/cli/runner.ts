import type { Command } from 'commander';
import type { CliContext, GlobalOptions } from './context.js';

/**
 * What `main.ts` hands every `register.ts`: a command's work, and the wrapper that runs it.
 * Kept apart from main.ts so the command modules do not import the module that imports them.
 */

/** The work of one command, given its context. */
export type Action = (ctx: CliContext) => Promise<void>;

/**
 * Wraps a command's work: builds its context from the global options (plus any the command
 * found itself), lets errors bubble to `run`.
 */
export type Runner = (cmd: Command, action: Action, globals?: GlobalOptions) => Promise<void>;
