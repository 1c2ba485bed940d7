// Start-up cost of the CLI as a ratio to starting node itself, measured in the same run.
// Targets (issue #8): `connectr --version` at most 1.2x `node -e 0`, `connectors list` 1.4x.
import { startupFigures, withTempHome } from './lib.mjs';

withTempHome(startupFigures);
