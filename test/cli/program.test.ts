import { describe, expect, it } from 'vitest';
import { COMMANDS, buildProgram } from '../../src/cli/main.js';
import { runCli, testIO } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';

/** The command tree is built for the command being run only (issue #8), and whole otherwise. */
describe('the command tree', () => {
  const names = (word?: string): string[] =>
    buildProgram(testIO(), {}, new AbortController().signal, undefined, word).commands.map((c) => c.name());

  it('lists every top-level command in COMMANDS, in help order', () => {
    expect(names()).toEqual(COMMANDS.map(([name]) => name));
  });

  it('holds only the part of the command being run', () => {
    for (const [name, register] of COMMANDS) {
      const built = names(name);
      expect(built).toContain(name);
      // Only what the same function adds (auth adds token and logout).
      expect(built).toEqual(COMMANDS.filter(([, r]) => r === register).map(([n]) => n));
    }
  });

  it('is whole for help and for a word that is no command, so suggestions still see every command', async () => {
    const home = tempHome();
    try {
      const typo = await runCli(['--json', 'conectors', 'list'], home.env);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain("unknown command 'conectors'");
      expect(typo.stderr).toContain('Did you mean connectors?');
      const help = await runCli(['--help'], home.env);
      expect(help.code).toBe(0);
      // Every command but the hidden one the completion scripts run (`__complete`).
      for (const [name] of COMMANDS.filter(([n]) => !n.startsWith('__')))
        expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
      expect(help.stdout).not.toContain('__complete');
      // A global option's value is not the command word.
      const list = await runCli(['--connectors-dir', home.dir, 'connectors', 'list'], home.env);
      expect(list.stderr).toBe('');
      expect(list.code).toBe(0);
    } finally {
      home.cleanup();
    }
  });
});
