// Start-up cost of the CLI as a ratio to starting node itself, measured in the same run.
// Target (issue #2): `connectr --version` at most 1.5x `node -e 0`.
import { BIN, report, timeCommand, withTempHome } from './lib.mjs';

withTempHome((env) => {
  const node = process.execPath;
  const baseline = timeCommand(node, ['-e', '0'], { env });
  const version = timeCommand(node, [BIN, '--version'], { env });
  const list = timeCommand(node, [BIN, 'connectors', 'list'], { env });
  report('startup', 'connectr --version', version, 'node -e 0', baseline, 1.5);
  report('startup', 'connectr connectors list', list, 'node -e 0', baseline);
});
