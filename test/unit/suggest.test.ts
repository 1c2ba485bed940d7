import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { BUILTIN_CONNECTORS_DIR } from '../../src/core/connector/registry.js';
import { closest, editDistance, unknownName } from '../../src/core/suggest.js';

/** The built-in connectors' names, and a user's short one (issue #20 met `nb`). */
const CONNECTORS = [
  ...readdirSync(BUILTIN_CONNECTORS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length)),
  'nb',
];
const GMAIL_ENDPOINTS = ['get_profile', 'list_messages', 'get_message', 'send_message', 'list_labels'];

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

  it('suggests nothing for a name that shares nothing with any (issue #20)', () => {
    expect(CONNECTORS).toEqual(expect.arrayContaining(['gmail', 'gcal', 'github', 'slack', 'nb']));
    for (const word of ['zz', 'q', 'x', 'ab1', 'foo', 'notion', 'zzzzzz'])
      expect(closest(word, CONNECTORS), word).toBeUndefined();
    expect(closest('q', ['a', 'b'])).toBeUndefined();
    expect(closest('list', GMAIL_ENDPOINTS)).toBeUndefined();
    expect(closest('delete_everything', GMAIL_ENDPOINTS)).toBeUndefined();
  });

  it('still suggests real typos of real names', () => {
    expect(closest('gmaill', CONNECTORS)).toBe('gmail');
    expect(closest('dropbx', CONNECTORS)).toBe('dropbox');
    expect(closest('githb', CONNECTORS)).toBe('github');
    expect(closest('Outlok', CONNECTORS)).toBe('outlook');
    expect(closest('nbb', CONNECTORS)).toBe('nb');
    expect(closest('list_mesages', GMAIL_ENDPOINTS)).toBe('list_messages');
    expect(closest('getprofile', GMAIL_ENDPOINTS)).toBe('get_profile');
    expect(closest('iten', ['item', 'fail'])).toBe('item');
  });

  it('lists the choices when no name is near', () => {
    const far = unknownName('unknown endpoint "zz"', 'zz', ['nb', 'gmail'], 'Run `x` to see them.');
    expect(far.hint).toBe('known: nb, gmail. Run `x` to see them.');
    const near = unknownName('unknown endpoint "gmial"', 'gmial', ['nb', 'gmail'], 'Run `x` to see them.');
    expect(near.hint).toBe('did you mean "gmail"? Run `x` to see them.');
    expect(unknownName('m', 'zz', [], 'Sign in first.').hint).toBe('Sign in first.');
  });
});
