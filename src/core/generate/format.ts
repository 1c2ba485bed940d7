import { spawnSync } from 'node:child_process';
import { ConnectrError } from '../errors.js';

/**
 * The formatter a language's template.json names (`"format"`), run on each rendered file:
 * `prettier` (TypeScript/JavaScript, the library, with connectr's fixed options so the output
 * is the same everywhere) or `gofmt` (Go's own, from the Go installation on the PATH). A
 * template that writes formatted code itself names none (Python's templates write
 * `ruff format --line-length 120` style).
 */

export const FORMATTERS = ['prettier', 'gofmt'] as const;
export type Formatter = (typeof FORMATTERS)[number];

const PRETTIER_OPTIONS = { singleQuote: true, printWidth: 110, trailingComma: 'all' } as const;

export async function formatFile(formatter: Formatter, path: string, text: string): Promise<string> {
  if (formatter === 'prettier') {
    const prettier = await import('prettier');
    try {
      return await prettier.format(text, { ...PRETTIER_OPTIONS, filepath: path });
    } catch (error) {
      throw unformattable(path, formatter, error instanceof Error ? error.message : String(error));
    }
  }
  const run = spawnSync('gofmt', [], { input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) {
    throw new ConnectrError(
      'unavailable',
      `gofmt is needed to format the Go files, and it could not run (${run.error.message})`,
      {
        hint: 'install Go (https://go.dev/dl/) so that gofmt is on the PATH',
      },
    );
  }
  if (run.status !== 0) throw unformattable(path, formatter, run.stderr.trim());
  return run.stdout;
}

/** The template made code that does not parse: the generated file's name and the formatter's message. */
function unformattable(path: string, formatter: Formatter, message: string): ConnectrError {
  return new ConnectrError(
    'invalid_input',
    `the template made ${path}, which ${formatter} cannot parse: ${message.split('\n')[0] ?? ''}`,
    {
      hint: 'fix the template so that it writes valid code',
    },
  );
}
