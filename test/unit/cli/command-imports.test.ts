import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * A command's files are its own: what two commands share lives beside them (cli/request/ for
 * call and api), so changing one command cannot break another through a file it happens to
 * export from. Read from the sources: no build, nothing run.
 */

const commands = join(import.meta.dirname, '../../../src/cli/commands');

/** Imports of one command's files by another that are still to be moved out (each named here). */
const KNOWN = new Set(['completion -> call/flags.js', 'call -> connectors/describe.js']);

function crossImports(): string[] {
  const found: string[] = [];
  for (const noun of readdirSync(commands)) {
    for (const file of readdirSync(join(commands, noun))) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(join(commands, noun, file), 'utf8');
      for (const match of text.matchAll(
        /from '\.\.\/([\w-]+)\/([\w.-]+)'|import\('\.\.\/([\w-]+)\/([\w.-]+)'\)/g,
      )) {
        const other = match[1] ?? match[3];
        const module = match[2] ?? match[4];
        if (other !== undefined && other !== noun) found.push(`${noun} -> ${other}/${module}`);
      }
    }
  }
  return found;
}

describe('cli/commands', () => {
  it("imports no other command's files (api none of call's)", () => {
    expect(crossImports().filter((edge) => !KNOWN.has(edge))).toEqual([]);
  });
});
