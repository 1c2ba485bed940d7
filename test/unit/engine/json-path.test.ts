import { describe, expect, it } from 'vitest';
import { getPath, setPath } from '../../../src/core/json-path.js';

/** Issue #7 point 13: keys a document or definition names never reach Object.prototype. */
describe('json paths', () => {
  it('read own properties only', () => {
    const doc: unknown = JSON.parse('{"a":{"b":1},"__proto__":{"c":2}}');
    expect(getPath(doc, 'a.b')).toBe(1);
    expect(getPath(doc, '__proto__.c')).toBe(2);
    expect(getPath({}, 'constructor')).toBeUndefined();
    expect(getPath({ a: {} }, 'a.toString')).toBeUndefined();
    expect(getPath({ a: 'text' }, 'a.length')).toBeUndefined();
  });

  it('write own properties only, and never pollute', () => {
    const body: Record<string, unknown> = {};
    setPath(body, '__proto__.polluted', 'yes');
    setPath(body, ['constructor', 'prototype', 'polluted'], 'yes');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(JSON.stringify(body)).toBe(
      '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
    );
  });
});
