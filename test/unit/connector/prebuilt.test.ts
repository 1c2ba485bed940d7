import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConnector } from '../../../src/core/connector/load.js';
import type { PrebuiltFile } from '../../../src/core/connector/prebuilt.js';
import { BUILTIN_CONNECTORS_DIR, loadRegistry } from '../../../src/core/connector/registry.js';
import { tempHome } from '../../helpers/home.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const gmailText = readFileSync(join(BUILTIN_CONNECTORS_DIR, 'gmail.yaml'), 'utf8');

describe('built-in connectors validated at build time', () => {
  let home: ReturnType<typeof tempHome>;
  let builtinDir: string;
  let prebuiltFile: string;
  /** A prebuilt file for gmail.yaml whose display name differs, to tell which one was used. */
  const writePrebuilt = (builtFrom: string): void => {
    const parsed = parseConnector(gmailText, { file: join(builtinDir, 'gmail.yaml'), origin: 'builtin' });
    if (!parsed.ok) throw new Error('gmail.yaml does not parse');
    const { source: _source, ...connector } = parsed.connector;
    const file: PrebuiltFile = {
      version: 3,
      entries: [
        {
          file: 'gmail.yaml',
          text: builtFrom,
          connector: { ...connector, displayName: 'Prebuilt' },
        },
      ],
    };
    writeFileSync(prebuiltFile, JSON.stringify(file));
  };
  beforeEach(() => {
    home = tempHome();
    builtinDir = join(home.dir, 'builtin');
    mkdirSync(builtinDir);
    writeFileSync(join(builtinDir, 'gmail.yaml'), gmailText);
    prebuiltFile = join(home.dir, 'connectors.json');
  });
  afterEach(() => {
    home.cleanup();
  });

  it('are taken from the generated JSON while the YAML is unchanged, and remembered in the cache', async () => {
    writePrebuilt(gmailText);
    const cacheFile = join(home.dir, 'cache.json');
    const registry = await loadRegistry({ builtinDir, prebuiltFile, cacheFile });
    const gmail = registry.require('gmail');
    expect(gmail.displayName).toBe('Prebuilt');
    expect(gmail.source).toEqual({ file: join(builtinDir, 'gmail.yaml'), origin: 'builtin' });
    // The next run finds it in the cache by the file's size and time (a stat, no read and no
    // hash): even without the generated JSON.
    rmSync(prebuiltFile);
    const again = (await loadRegistry({ builtinDir, prebuiltFile, cacheFile })).require('gmail');
    expect(again).toEqual(gmail);
  });

  it('are validated again when the YAML changed since the build', async () => {
    writePrebuilt(`${gmailText}\n# an older version\n`);
    const registry = await loadRegistry({ builtinDir, prebuiltFile });
    expect(registry.require('gmail').displayName).toBe('Gmail');
  });

  it('are validated when the JSON is missing or damaged', async () => {
    expect((await loadRegistry({ builtinDir, prebuiltFile })).require('gmail').displayName).toBe('Gmail');
    writeFileSync(prebuiltFile, '{"version":3,"entries":{"not":"a list"}}');
    expect((await loadRegistry({ builtinDir, prebuiltFile })).require('gmail').displayName).toBe('Gmail');
    writeFileSync(prebuiltFile, 'not json');
    expect((await loadRegistry({ builtinDir, prebuiltFile })).require('gmail').displayName).toBe('Gmail');
  });

  it('npm run build generated dist/connectors.json for every built-in connector, as the loader sees it', () => {
    const built = JSON.parse(readFileSync(join(ROOT, 'dist', 'connectors.json'), 'utf8')) as PrebuiltFile;
    const files = readdirSync(BUILTIN_CONNECTORS_DIR).filter((f) => /\.ya?ml$/i.test(f));
    expect(built.entries.map((e) => e.file).sort()).toEqual([...files].sort());
    for (const entry of built.entries) {
      const text = readFileSync(join(BUILTIN_CONNECTORS_DIR, entry.file), 'utf8');
      expect(entry.text).toBe(text);
      const parsed = parseConnector(text, {
        file: join(BUILTIN_CONNECTORS_DIR, entry.file),
        origin: 'builtin',
      });
      expect(parsed.ok && { ...parsed.connector, source: undefined }).toEqual(
        JSON.parse(JSON.stringify({ ...entry.connector, source: undefined })) as unknown,
      );
    }
  });
});
