import type { Command } from 'commander';
import type { Runner } from '../../runner.js';

export interface GenerateFlags {
  readonly lang: string[];
  readonly out: string;
  readonly connector?: string[];
  readonly builtin?: boolean;
  readonly templates?: string;
  readonly check?: boolean;
}

/** Commas and repeats both: --lang python,go --lang typescript. */
function list(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

/** `connectr generate`: wiring only; the work is in generate.ts, loaded when run. */
export function registerGenerate(program: Command, runner: Runner): void {
  program
    .command('generate')
    .description('render typed clients (TypeScript, Python, Go) for connectors from templates')
    .option('--lang <languages>', 'languages, comma-separated (default: typescript,python,go)', list)
    .option('--out <dir>', 'where files go, one folder per language: <dir>/<language>/...', 'generated')
    .option(
      '--connector <name...>',
      'only these connectors, each a name (its newest version) or name@version (default: every one connectr loads)',
    )
    .option('--builtin', "only connectr's built-in connectors (not yours or --connectors-dir)")
    .option(
      '--templates <dir>',
      'your own templates: <dir>/<language>/template.json (adds or replaces a language)',
    )
    .option('--check', 'write nothing; exit 1 when the files on disk differ from what would be generated')
    .addHelpText(
      'after',
      '\nExamples:\n  connectr generate --lang python --out ./clients\n  connectr generate --lang typescript --connector gmail --connector dropbox\n  connectr generate --lang python --connector gmail@1 --out ./clients-v1\n  connectr generate --out sdk --builtin --check   # in CI: fail when generated code drifted\n\nTemplates: templates/README.md (what a template sees, template.json).',
    )
    .action(async (flags: Partial<GenerateFlags>, cmd: Command) => {
      await runner(cmd, async (ctx) =>
        (await import('./generate.js')).generate(ctx, {
          ...flags,
          lang: flags.lang ?? ['typescript', 'python', 'go'],
          out: flags.out ?? 'generated',
        }),
      );
    });
}
