import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_CONNECTORS_DIR, loadRegistry } from '../../../src/core/connector/registry.js';
import { isConnectrError } from '../../../src/core/errors.js';
import { tempHome } from '../../helpers/home.js';

const gmailText = readFileSync(join(BUILTIN_CONNECTORS_DIR, 'gmail.yaml'), 'utf8');

function minimal(name: string, extra = ''): string {
  return `name: ${name}
display_name: ${name}
version: 1
docs_url: https://example.com/docs
description: Test connector ${name}.
hosts:
  api: https://api.example.com
auth:
  type: none
endpoints:
  ping:
    summary: Ping.
    method: GET
    path: /ping
${extra}`;
}

describe('connector registry', () => {
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

  it('adds user connectors to the built-in ones', async () => {
    writeFileSync(join(userDir, 'status.yaml'), minimal('status'));
    const registry = await loadRegistry({ userDir });
    expect(registry.connectors.map((c) => c.name)).toEqual([
      'dropbox',
      'gcal',
      'gdrive',
      'gmail',
      'onedrive',
      'status',
    ]);
    expect(registry.require('status').source.origin).toBe('user');
  });

  it('lets a user file override a built-in connector of the same name', async () => {
    const patched = gmailText.replace('https://gmail.googleapis.com', 'https://gmail-proxy.example.com');
    writeFileSync(join(userDir, 'my-gmail.yaml'), patched);
    const registry = await loadRegistry({ userDir });
    const gmail = registry.require('gmail');
    expect(gmail.hosts[0]?.url).toBe('https://gmail-proxy.example.com');
    expect(gmail.source.origin).toBe('user');
    expect(gmail.source.overrides).toBe(join(BUILTIN_CONNECTORS_DIR, 'gmail.yaml'));
  });

  it('skips a broken user file without hiding the others', async () => {
    writeFileSync(join(userDir, 'a-good.yaml'), minimal('good'));
    writeFileSync(join(userDir, 'b-broken.yaml'), minimal('broken').replace('method: GET', 'method: FETCH'));
    writeFileSync(join(userDir, 'c-also-good.yaml'), minimal('also_good'));
    const registry = await loadRegistry({ userDir });
    expect(registry.connectors.map((c) => c.name)).toContain('good');
    expect(registry.connectors.map((c) => c.name)).toContain('also_good');
    expect(registry.get('broken')).toBeUndefined();
    expect(registry.invalid).toHaveLength(1);
    expect(registry.invalid[0]?.problems[0]).toMatchObject({ line: 13, path: 'endpoints.ping.method' });
  });

  it('keeps the built-in connector when the user override is broken', async () => {
    writeFileSync(join(userDir, 'gmail.yaml'), gmailText.replace('method: GET', 'method: GETT'));
    const registry = await loadRegistry({ userDir });
    expect(registry.require('gmail').source.origin).toBe('builtin');
    expect(registry.invalid).toHaveLength(1);
  });

  it('reports two files of the same name in one directory', async () => {
    writeFileSync(join(userDir, 'one.yaml'), minimal('twin'));
    writeFileSync(join(userDir, 'two.yml'), minimal('twin'));
    const registry = await loadRegistry({ userDir });
    expect(registry.require('twin').source.file).toBe(join(userDir, 'one.yaml'));
    expect(registry.invalid[0]?.problems[0]?.message).toMatch(/already defined in .*one\.yaml/);
  });

  it('loads --connectors-dir last, overriding user connectors', async () => {
    const extra = join(home.dir, 'extra');
    mkdirSync(extra);
    writeFileSync(join(userDir, 'svc.yaml'), minimal('svc'));
    writeFileSync(join(extra, 'svc.yaml'), minimal('svc').replace('Test connector svc.', 'From extra.'));
    const registry = await loadRegistry({ userDir, extraDirs: [extra] });
    expect(registry.require('svc').description).toBe('From extra.');
    expect(registry.require('svc').source).toMatchObject({
      origin: 'extra',
      overrides: join(userDir, 'svc.yaml'),
    });
  });

  it('ignores a missing user directory but not a missing --connectors-dir', async () => {
    await expect(loadRegistry({ userDir: join(home.dir, 'nope') })).resolves.toBeDefined();
    const error: unknown = await loadRegistry({ extraDirs: [join(home.dir, 'nope')] }).catch(
      (e: unknown) => e,
    );
    expect(isConnectrError(error) && error.code).toBe('invalid_input');
  });

  it('suggests the nearest name for an unknown connector', async () => {
    const registry = await loadRegistry({ userDir });
    let error: unknown;
    try {
      registry.require('gmial');
    } catch (e) {
      error = e;
    }
    expect(isConnectrError(error) && error.hint).toMatch(/did you mean "gmail"/);
  });
});
