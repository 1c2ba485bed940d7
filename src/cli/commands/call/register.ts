import type { Command } from 'commander';
import type { Runner } from '../../runner.js';

/**
 * `connectr call <connector> <endpoint> [flags]`. The endpoint's flags come from its definition,
 * so commander only collects the raw arguments here (main.ts passes them through untouched)
 * and call.ts builds the real parser once the endpoint is known.
 */
export function registerCall(program: Command, runner: Runner): void {
  program
    .command('call')
    .description("call an endpoint of a connector; its flags come from the connector's definition")
    .argument('[connector]', 'connector name; alone, lists its endpoints')
    .argument('[endpoint]', 'endpoint name')
    .argument('[flags...]', 'the endpoint flags (see `connectr call <connector> <endpoint> --help`)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      async (_connector: unknown, _endpoint: unknown, _flags: unknown, _opts: unknown, cmd: Command) => {
        const args = cmd.args;
        const { splitGlobals } = await import('../../globals.js');
        const { globals, rest } = splitGlobals(args);
        await runner(cmd, async (ctx) => (await import('./call.js')).callCommand(ctx, rest), globals);
      },
    );
}
