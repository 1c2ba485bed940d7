import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_SETTINGS } from '../../src/core/settings/core.js';
import { SERVER_SETTINGS } from '../../src/server/settings.js';

/** The docs' configuration tables against the settings' schema they are written from (npm run docs:config). */

const root = join(import.meta.dirname, '../..');

interface ConfigTable {
  DOCS: Record<string, string[]>;
  tables(): Promise<Record<string, string>>;
  withTables(text: string, names: string[], generated: Record<string, string>, file: string): string;
}

const script = (await import(join(root, 'scripts/config-table.mjs'))) as ConfigTable;
const generated = await script.tables();

describe('the configuration tables of the docs', () => {
  for (const [file, names] of Object.entries(script.DOCS)) {
    it(`${file} shows the schema's ${names.join(', ')} (else: npm run docs:config)`, () => {
      const text = readFileSync(join(root, file), 'utf8');
      expect(script.withTables(text, names, generated, file)).toBe(text);
    });
  }

  it('docs/configuration.md names every variable of the schema', () => {
    const text = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
    const missing = [...Object.keys(CORE_SETTINGS), ...Object.keys(SERVER_SETTINGS)].filter(
      (name) => !text.includes(`| \`${name}\``),
    );
    expect(missing).toEqual([]);
  });

  it('no doc names a CONNECTR_ variable of a fixed name the schema does not have', () => {
    const known = new Set([...Object.keys(CORE_SETTINGS), ...Object.keys(SERVER_SETTINGS)]);
    const docs = [
      'README.md',
      ...[
        'architecture',
        'auth',
        'cli',
        'connectors',
        'mcp',
        'sdk',
        'server',
        'configuration',
        'tutorial',
      ].map((d) => `docs/${d}.md`),
    ];
    const unknown = new Set<string>();
    for (const file of docs) {
      for (const [name] of readFileSync(join(root, file), 'utf8').matchAll(/\bCONNECTR_[A-Z0-9_]+\b/g)) {
        // A connector's own variables (CONNECTR_GMAIL_TOKEN, CONNECTR_GITHUB_API_BASE_URL) follow its patterns.
        if (
          known.has(name) ||
          /_(TOKEN|BASE_URL|REDIRECT_HOSTS|AUTHORIZATION_URL|TOKEN_URL|REVOCATION_URL|DEVICE_AUTHORIZATION_URL)$/.test(
            name,
          )
        )
          continue;
        unknown.add(`${file}: ${name}`);
      }
    }
    expect([...unknown]).toEqual([]);
  });
});
