import type { Command } from 'commander';
import type { Runner } from '../../runner.js';

export interface ImportFlags {
  readonly name?: string;
  readonly out?: string;
  readonly force?: boolean;
}

/** `connectr connectors ...`: wiring only; the work is in the modules imported on use. */
export function registerConnectors(program: Command, runner: Runner): void {
  const connectors = program
    .command('connectors')
    .description('list, inspect and validate connector definitions');

  connectors
    .command('list')
    .description('list the connectors available (built-in, yours, and --connectors-dir)')
    .action(async (_opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./list.js')).listConnectors(ctx));
    });

  connectors
    .command('show')
    .description("show a connector's hosts, authentication and endpoints with their parameters")
    .argument('<connector>', 'connector name, e.g. gmail (its newest version) or gmail@1')
    .argument('[endpoint]', 'show only this endpoint')
    .addHelpText(
      'after',
      '\nExamples:\n  connectr connectors show dropbox\n  connectr connectors show gmail list_messages\n  connectr connectors show onedrive --json',
    )
    .action(async (name: string, endpoint: string | undefined, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./show.js')).showConnector(ctx, name, endpoint));
    });

  connectors
    .command('diff')
    .description(
      'list the endpoints, params and scopes added, removed and changed between two connector versions',
    )
    .argument('<from>', 'a connector, e.g. gmail@1 (a name alone: its newest version)')
    .argument('<to>', 'another, e.g. gmail@2')
    .addHelpText(
      'after',
      "\n+ added, - removed, ~ changed; values are shown as JSON (a secret param's default never is).\n`connectr connectors show <name>` lists the versions loaded.\n\nExamples:\n  connectr connectors diff gmail@1 gmail@2\n  connectr connectors diff gmail@1 gmail --json",
    )
    .action(async (from: string, to: string, _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./diff.js')).diffCommand(ctx, from, to));
    });

  connectors
    .command('validate')
    .description('check connector files and report every problem with file:line:column')
    .argument('[paths...]', 'files or directories (default: every connector connectr loads)')
    .addHelpText(
      'after',
      '\nExits 1 when a file is invalid.\n\nExamples:\n  connectr connectors validate ./my-api.yaml\n  connectr connectors validate ~/.config/connectr/connectors',
    )
    .action(async (paths: string[], _opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./validate.js')).validateConnectors(ctx, paths));
    });

  const importer = connectors
    .command('import')
    .description('turn an API description into a connector definition');
  importer
    .command('openapi')
    .description('import an OpenAPI 3.0/3.1 document (YAML or JSON; a file or an http(s) URL)')
    .argument('<source>', 'file or http(s) URL of the OpenAPI document')
    .option('--name <name>', "connector name (default: from the document's info.title)")
    .option('--out <file>', 'write the definition to this file (default: stdout)')
    .option('--force', 'replace --out if it exists')
    .addHelpText(
      'after',
      '\nWhat could not be mapped is listed at the top of the output; guesses (pagination, chosen auth)\nare marked "review:". Nothing is written when the document is invalid.\n\nExamples:\n  connectr connectors import openapi ./petstore.yaml --name petstore --out ~/.config/connectr/connectors/petstore.yaml\n  connectr connectors import openapi https://example.com/openapi.json > example.yaml',
    )
    .action(async (source: string, flags: ImportFlags, cmd: Command) => {
      await runner(cmd, async (ctx) =>
        (await import('./import-openapi.js')).importOpenApiCommand(ctx, source, flags),
      );
    });

  connectors
    .command('schema')
    .description('print the JSON Schema of the connector format, for editor completion')
    .addHelpText(
      'after',
      '\nSave it next to your connectors and start each file with\n  # yaml-language-server: $schema=./connector.schema.json\n\nExample:\n  connectr connectors schema > ~/.config/connectr/connectors/connector.schema.json',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await runner(cmd, async (ctx) => (await import('./schema.js')).printSchema(ctx));
    });
}
