import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The names of the built-in connectors (connectors/*.yaml), sorted: tests follow the folder. */
export const BUILTIN_CONNECTORS: readonly string[] = readdirSync(
  join(import.meta.dirname, '..', '..', 'connectors'),
)
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => file.slice(0, -'.yaml'.length))
  .sort();
