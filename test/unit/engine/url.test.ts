import { describe, expect, it } from 'vitest';
import { findEndpoint } from '../../../src/core/connector/model.js';
import type { Endpoint } from '../../../src/core/connector/model.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import { ConnectrError } from '../../../src/core/errors.js';
import { expandPath } from '../../../src/core/engine/url.js';

const registry = await loadRegistry();

function endpoint(connector: string, name: string): Endpoint {
  const found = findEndpoint(registry.require(connector), name);
  if (!found) throw new Error(`no endpoint ${connector}.${name}`);
  return found;
}

function refusal(run: () => unknown): ConnectrError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConnectrError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('path values stay inside the endpoint path', () => {
  const byPath = endpoint('onedrive', 'get_item_by_path');
  const byId = endpoint('onedrive', 'get_item');

  it('escapes ordinary values', () => {
    expect(expandPath(byPath, { path: '/Documents/Q1 report.pdf' })).toBe(
      '/me/drive/root:/Documents/Q1%20report.pdf',
    );
    expect(expandPath(byPath, { path: 'a..b/.hidden/x.' })).toBe('/me/drive/root:/a..b/.hidden/x.');
    expect(expandPath(byId, { item_id: '01AB/CD' })).toBe('/me/drive/items/01AB%2FCD');
  });

  it.each([
    '..',
    '.',
    '../../../users/victim@example.com/drive/root',
    'Documents/../../x',
    'Documents/./x',
    '/..',
    'a/..',
    '%2e%2e/x',
    '%2E%2e',
    '.%2e/x',
    '%252e%252e/x',
    '..\\x',
    'a\\..\\..\\x',
    'a%5c..%5cx',
  ])('refuses --path %j with exit-code 1 naming the flag', (value) => {
    const error = refusal(() => expandPath(byPath, { path: value }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain('--path');
    expect(error.message).toContain('".."');
  });

  it.each(['..', '.', '../x', '%2e%2e', '..%2fx', '..\\x'])('refuses --item-id %j', (value) => {
    const error = refusal(() => expandPath(byId, { item_id: value }));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain('--item-id');
  });

  it('leaves search text alone: it sits inside a quoted OData literal', () => {
    const search = endpoint('onedrive', 'search');
    expect(expandPath(search, { q: '..' })).toBe("/me/drive/root/search(q='..')");
  });
});
