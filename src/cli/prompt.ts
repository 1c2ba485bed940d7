import { ConnectrError } from '../core/errors.js';
import type { IO } from './io.js';

/**
 * Questions to the user at a terminal (@inquirer/prompts, on stderr so stdout stays clean).
 * Without a terminal nothing is asked: callers get undefined and must say what to set instead.
 */
export interface Prompter {
  readonly interactive: boolean;
  input(message: string, options?: { required?: boolean }): Promise<string>;
  secret(message: string, options?: { required?: boolean }): Promise<string>;
  confirm(message: string, fallback: boolean): Promise<boolean>;
}

export function createPrompter(io: IO): Prompter {
  // Asked only when a question comes up: looking at stdin makes Node open a stream for it.
  const interactive = (): boolean => io.stdinIsTTY && io.stderrIsTTY;
  const context = (): { input: IO['stdin']; output: IO['stderr'] } => ({
    input: io.stdin,
    output: io.stderr,
  });
  const guard = (): void => {
    if (!interactive()) throw new ConnectrError('internal', 'a prompt was attempted without a terminal');
  };
  const cancelled = (error: unknown): never => {
    if (error instanceof Error && error.name === 'ExitPromptError') {
      throw new ConnectrError('cancelled', 'cancelled at the prompt');
    }
    throw error;
  };
  return {
    get interactive() {
      return interactive();
    },
    async input(message, options = {}) {
      guard();
      const { input } = await import('@inquirer/prompts');
      return input({ message, required: options.required ?? true }, context()).catch(cancelled);
    },
    async secret(message, options = {}) {
      guard();
      const { password } = await import('@inquirer/prompts');
      const required = options.required ?? true;
      return password(
        { message, mask: '*', validate: (v) => !required || v.length > 0 || 'a value is needed' },
        context(),
      ).catch(cancelled);
    },
    async confirm(message, fallback) {
      if (!interactive()) return fallback;
      const { confirm } = await import('@inquirer/prompts');
      return confirm({ message, default: fallback }, context()).catch(cancelled);
    },
  };
}
