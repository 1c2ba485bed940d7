import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_CONNECTORS_DIR, loadRegistry } from '../../../src/core/connector/registry.js';
import { definitionVersion, parseConnectorRef } from '../../../src/core/connector/versions.js';
import { isConnectrError } from '../../../src/core/errors.js';
import { tempHome } from '../../helpers/home.js';

const gmailText = readFileSync(join(BUILTIN_CONNECTORS_DIR, 'gmail.yaml'), 'utf8');

/** A small connector; `version` null leaves the line out. */
function definition(name: string, version: number | string | null, path = '/ping'): string {
  return `name: ${name}
display_name: ${name}
${version === null ? '' : `version: ${typeof version === 'string' ? JSON.stringify(version) : version}\n`}docs_url: https://example.com/docs
description: Test connector ${name}.
hosts:
  api: https://api.example.com
auth:
  type: none
endpoints:
  ping:
    summary: Ping.
    method: GET
    path: ${path}
`;
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('connector versions in the registry', () => {
  let home: ReturnType<typeof tempHome>;
  let userDir: string;
  beforeEach(() => {
    home = tempHome();
    userDir = join(home.dir, 'connectors');
    mkdirSync(userDir);
  });
  afterEach(() => {
    home.cleanup();
  });

  it('keeps every version: get(name) is the newest, get(name, v) and versions(name) the others', async () => {
    writeFileSync(join(userDir, 'svc@1.yaml'), definition('svc', 1, '/v1/ping'));
    writeFileSync(join(userDir, 'svc.yaml'), definition('svc', 2, '/v2/ping'));
    const registry = await loadRegistry({ userDir });
    expect(registry.invalid).toEqual([]);
    expect(registry.get('svc')?.version).toBe(2);
    expect(registry.get('svc', 1)?.endpoints[0]?.path).toBe('/v1/ping');
    expect(registry.get('svc', 2)?.endpoints[0]?.path).toBe('/v2/ping');
    expect(registry.get('svc', 3)).toBeUndefined();
    expect(registry.versions('svc').map((c) => c.version)).toEqual([2, 1]);
    expect(registry.versions('nope')).toEqual([]);
    // The list of connectors stays one per name, so nothing that lists them changes.
    expect(registry.connectors.filter((c) => c.name === 'svc')).toHaveLength(1);
  });

  it("adds a user's gmail@2 to the built-in gmail 1, and a user's gmail 1 replaces the built-in", async () => {
    const v2 = gmailText
      .replace(/^version: 1$/m, 'version: 2')
      .replace('https://gmail.googleapis.com', 'https://v2.example.com');
    writeFileSync(join(userDir, 'gmail@2.yaml'), v2);
    let registry = await loadRegistry({ userDir });
    expect(registry.versions('gmail').map((c) => [c.version, c.source.origin])).toEqual([
      [2, 'user'],
      [1, 'builtin'],
    ]);
    expect(registry.get('gmail', 2)?.source.overrides).toBeUndefined();

    const v1 = gmailText.replace('https://gmail.googleapis.com', 'https://v1-fixed.example.com');
    writeFileSync(join(userDir, 'gmail@1.yaml'), v1);
    registry = await loadRegistry({ userDir });
    const one = registry.get('gmail', 1);
    expect(one?.hosts[0]?.url).toBe('https://v1-fixed.example.com');
    expect(one?.source).toMatchObject({
      origin: 'user',
      overrides: join(BUILTIN_CONNECTORS_DIR, 'gmail.yaml'),
    });
    expect(registry.get('gmail')?.version).toBe(2);
  });

  it('reports two files of one name and version in one directory, naming both', async () => {
    writeFileSync(join(userDir, 'svc.yaml'), definition('svc', 1));
    writeFileSync(join(userDir, 'svc@1.yaml'), definition('svc', 1));
    const registry = await loadRegistry({ userDir });
    expect(registry.versions('svc')).toHaveLength(1);
    expect(registry.invalid).toHaveLength(1);
    const problem = registry.invalid[0];
    expect(problem?.file).toBe(join(userDir, 'svc@1.yaml'));
    expect(problem?.problems[0]?.message).toContain(join(userDir, 'svc.yaml'));
    expect(problem?.problems[0]?.message).toMatch(/version 1 is already defined/);
  });

  it("refuses a file whose name's @N disagrees with its version, at the version line", async () => {
    writeFileSync(join(userDir, 'svc@2.yaml'), definition('svc', 1));
    writeFileSync(join(userDir, 'other@3.yaml'), definition('other', null));
    writeFileSync(join(userDir, 'bad@x.yaml'), definition('bad', 1));
    writeFileSync(join(userDir, 'zero@0.yaml'), definition('zero', 1));
    const registry = await loadRegistry({ userDir });
    expect(registry.get('svc')).toBeUndefined();
    const byFile = new Map(registry.invalid.map((f) => [f.file.slice(userDir.length + 1), f.problems]));
    expect(byFile.get('svc@2.yaml')?.[0]).toMatchObject({
      line: 3,
      path: 'version',
      message: 'the file name says version 2 but the file declares version 1; make them agree',
    });
    expect(byFile.get('other@3.yaml')?.[0]?.message).toMatch(
      /declares no version \(so 1\); add `version: 3`/,
    );
    expect(byFile.get('bad@x.yaml')?.[0]?.message).toMatch(/"@x" is not a version/);
    expect(byFile.get('zero@0.yaml')?.[0]?.message).toMatch(/"@0" is not a version/);
  });

  it('counts an absent version as 1, and a legacy string version as its number or 1', async () => {
    writeFileSync(join(userDir, 'plain.yaml'), definition('plain', null));
    writeFileSync(join(userDir, 'digits.yaml'), definition('digits', '3'));
    writeFileSync(join(userDir, 'semver.yaml'), definition('semver', '1.0.3'));
    writeFileSync(join(userDir, 'zero.yaml'), definition('zero', 0));
    const registry = await loadRegistry({ userDir });
    expect(registry.get('plain')?.version).toBe(1);
    expect(registry.get('digits')?.version).toBe(3);
    expect(registry.get('semver')?.version).toBe(1);
    expect(registry.get('zero')).toBeUndefined();
    expect(registry.invalid[0]?.problems[0]).toMatchObject({ path: 'version' });
    expect(definitionVersion(' 12 ')).toBe(12);
    expect(definitionVersion('v2')).toBe(1);
  });

  it('keeps versions through the cache of validated files', async () => {
    writeFileSync(join(userDir, 'svc@1.yaml'), definition('svc', 1, '/v1/ping'));
    writeFileSync(join(userDir, 'svc.yaml'), definition('svc', 2, '/v2/ping'));
    const cacheFile = join(home.dir, 'cache.json');
    await loadRegistry({ userDir, cacheFile });
    const cached = await loadRegistry({ userDir, cacheFile });
    expect(cached.versions('svc').map((c) => [c.version, c.endpoints[0]?.path])).toEqual([
      [2, '/v2/ping'],
      [1, '/v1/ping'],
    ]);
  });

  it('names the loaded versions when one asked for is not loaded', async () => {
    writeFileSync(join(userDir, 'svc@1.yaml'), definition('svc', 1));
    writeFileSync(join(userDir, 'svc@4.yaml'), definition('svc', 4));
    const registry = await loadRegistry({ userDir });
    expect(registry.requireVersion('svc', undefined).version).toBe(4);
    const error = caught(() => registry.requireVersion('svc', 2));
    expect(isConnectrError(error) && [error.code, error.message, error.hint]).toEqual([
      'not_found',
      'connector svc has no version 2',
      'loaded versions: 4, 1 (`connectr connectors show svc`)',
    ]);
    const unknown = caught(() => registry.requireVersion('svx', 1));
    expect(isConnectrError(unknown) && unknown.hint).toMatch(/did you mean "svc"/);
  });
});

describe('connector references (name or name@version)', () => {
  it('reads a name and a name@version', () => {
    expect(parseConnectorRef('gmail')).toEqual({ name: 'gmail' });
    expect(parseConnectorRef('gmail@2')).toEqual({ name: 'gmail', version: 2 });
  });

  it.each([
    'gmail@',
    '@1',
    'gmail@0',
    'gmail@01',
    'gmail@1.0',
    'gmail@-1',
    'gmail@v2',
    'gmail@1@2',
    'gmail@99999999999',
  ])('refuses %j with a usage error and an example', (text) => {
    const error = caught(() => parseConnectorRef(text));
    expect(isConnectrError(error) && [error.code, error.message]).toEqual([
      'usage',
      `"${text}" is not a connector name or <name>@<version>`,
    ]);
    expect(isConnectrError(error) && error.hint).toMatch(/gmail@1/);
  });
});
