import { randomBytes } from 'node:crypto';
import { ConnectrError } from '../core/errors.js';

/**
 * `--jq EXPR`: real jq (jq 1.7 compiled to WebAssembly, the jq-wasm package), loaded only when
 * the flag is given. As `gh api --jq` does: string results print as raw text, anything else as
 * JSON (compact in a pipe or with --json, indented on a terminal), one result per line.
 */
export interface JqFilter {
  /**
   * jq's output for one JSON value, each result on its own line ("" when it yields nothing),
   * and the error jq stopped with, if it did (after the results before it, as jq prints them).
   */
  apply(value: unknown): Promise<JqOutput>;
}

export interface JqOutput {
  readonly text: string;
  readonly error?: ConnectrError;
}

interface JqModule {
  raw(data: string | object, filter: string, flags?: string[]): Promise<string>;
}

/**
 * Loads jq and compiles `expression` once against `null`, so a syntax error stops the command
 * before anything is sent. Errors jq raises on real data come later, from `apply`.
 */
export async function compileJq(expression: string, options: { compact: boolean }): Promise<JqFilter> {
  if (expression.trim() === '')
    throw new ConnectrError('usage', '--jq needs an expression', { hint: "e.g. --jq '.messages[].id'" });
  const module = (await import('jq-wasm')) as unknown as { default?: JqModule } & Partial<JqModule>;
  const jq: JqModule | undefined = module.raw ? (module as JqModule) : module.default;
  if (!jq) throw new ConnectrError('internal', 'the jq-wasm package has no raw()');
  try {
    await jq.raw('null', expression, ['-c']);
  } catch (error) {
    const message = jqMessage(error);
    if (message.includes('compile error'))
      throw new ConnectrError('usage', `--jq: ${firstLines(message)}`, {
        hint: 'check the expression against the jq manual (https://jqlang.org/manual/); quote it in single quotes',
      });
    // A runtime error on null (e.g. `.[0] | error`) says nothing about the real input.
  }
  // jq-wasm trims its output and drops jq's error once anything was printed, so jq runs with
  // -c (one JSON text per result: nothing to trim inside) and the expression inside a try
  // that turns an error into a result only this run can make. New lines around it keep a
  // trailing # comment from swallowing the rest.
  const marker = `connectr-jq-error-${randomBytes(8).toString('hex')}`;
  const wrapped = `try (\n${expression}\n) catch {"${marker}": tostring}`;
  return {
    async apply(value) {
      let output: string;
      try {
        output = await jq.raw(JSON.stringify(value), wrapped, ['-c']);
      } catch (error) {
        throw runtimeError(jqMessage(error));
      }
      const lines: string[] = [];
      let failed: ConnectrError | undefined;
      for (const line of output.split('\n')) {
        if (line === '') continue;
        const result = JSON.parse(line) as unknown;
        if (typeof result === 'object' && result !== null && Object.hasOwn(result, marker)) {
          failed = runtimeError(String((result as Record<string, unknown>)[marker]));
          break;
        }
        // As jq -r: a string as its text, anything else as JSON.
        lines.push(
          typeof result === 'string'
            ? result
            : options.compact
              ? JSON.stringify(result)
              : JSON.stringify(result, null, 2),
        );
      }
      const text = lines.length ? `${lines.join('\n')}\n` : '';
      return failed ? { text, error: failed } : { text };
    },
  };
}

function runtimeError(message: string): ConnectrError {
  return new ConnectrError('invalid_input', `--jq: ${firstLines(message)}`, {
    hint: 'the answer arrived; the expression failed on it (run without --jq to see the answer)',
  });
}

function jqMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^Failed to execute raw query: /, '');
}

/** jq's message without the compile-error count line, at most three lines. */
function firstLines(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '' && !/^jq: \d+ compile errors?$/.test(line))
    .slice(0, 3)
    .join('\n');
}
