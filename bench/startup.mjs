// Start-up cost of the CLI as a ratio to starting node itself, measured in the same run.
// Target (issue #2): `connectr --version` at most 1.5x `node -e 0`.
import { startupFigures, withTempHome } from './lib.mjs';

withTempHome(startupFigures);
