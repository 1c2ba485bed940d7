import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../src/core/suggest.js';

describe('typo suggestions', () => {
  it('counts a swap of neighbouring letters as one edit', () => {
    expect(editDistance('gmial', 'gmail')).toBe(1);
    expect(editDistance('gmial', 'gcal')).toBe(2);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
  it('suggests the connector a swapped-letter typo meant, not a shorter near name', () => {
    expect(closest('gmial', ['dropbox', 'gcal', 'gdrive', 'gmail', 'onedrive'])).toBe('gmail');
    expect(closest('gdirve', ['dropbox', 'gcal', 'gdrive', 'gmail', 'onedrive'])).toBe('gdrive');
  });
});
