import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/io.js';
import { tempHome } from '../helpers/home.js';
import { BUILTIN_CONNECTORS } from '../helpers/builtin.js';

/**
 * A connector file the YAML parser throws on (an alias without its anchor, an alias bomb) is
 * reported with its name and skipped: every other command keeps working.
 */
describe('a broken connector file in the user folder', () => {
  let home: ReturnType<typeof tempHome>;
  let dir: string;
  beforeEach(() => {
    home = tempHome();
    dir = join(home.dir, 'connectors');
    mkdirSync(dir);
    const head = (name: string): string =>
      `name: ${name}\ndisplay_name: ${name}\nversion: 1\ndocs_url: https://example.com/docs\ndescription: Test.\nhosts:\n  api: https://api.example.com\nauth:\n  type: none\n`;
    writeFileSync(join(dir, 'unresolved.yaml'), `${head('unresolved')}endpoints: *nowhere\n`);
    let bomb = `${head('bomb')}l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n`;
    for (let i = 1; i <= 9; i++)
      bomb += `l${i}: &l${i} [${Array(10)
        .fill(`*l${i - 1}`)
        .join(', ')}]\n`;
    writeFileSync(join(dir, 'bomb.yaml'), `${bomb}endpoints: *l9\n`);
    writeFileSync(
      join(dir, 'status.yaml'),
      `${head('status')}endpoints:\n  ping:\n    summary: Ping.\n    method: GET\n    path: /ping\n`,
    );
  });
  afterEach(() => {
    home.cleanup();
  });

  it('connectors list shows the others and names each broken file', async () => {
    const r = await runCli(['connectors', 'list'], home.env);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { name: string }[]).map((c) => c.name)).toEqual(
      [...BUILTIN_CONNECTORS, 'status'].sort(),
    );
    expect(r.stderr).toContain(
      `warning: skipped invalid connector file ${join(dir, 'unresolved.yaml')}:10:12: invalid YAML: alias *nowhere names no anchor`,
    );
    expect(r.stderr).toContain(`warning: skipped invalid connector file ${join(dir, 'bomb.yaml')}:`);
    expect(r.stderr).toContain('an alias bomb?');
  });

  it('call and connectors show still work', async () => {
    const call = await runCli(['call', 'status', 'ping', '--dry-run'], home.env);
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout).toContain('https://api.example.com/ping');
    const show = await runCli(['connectors', 'show', 'gmail'], home.env);
    expect(show.code, show.stderr).toBe(0);
  });

  it('connectors validate reports the parser error of the file with its place', async () => {
    const file = join(dir, 'unresolved.yaml');
    const r = await runCli(['connectors', 'validate', file], home.env, { tty: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `${file}:10:12: invalid YAML: alias *nowhere names no anchor defined before it (&nowhere)`,
    );
    const all = await runCli(['connectors', 'validate'], home.env);
    expect(all.code).toBe(1);
    const report = JSON.parse(all.stdout) as { files: { file: string; valid: boolean }[] };
    expect(report.files.filter((f) => !f.valid).map((f) => f.file)).toEqual([join(dir, 'bomb.yaml'), file]);
  });
});
