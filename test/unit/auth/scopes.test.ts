import { describe, expect, it } from 'vitest';
import { oauth2Of, splitScopes } from '../../../src/core/auth/oauth2.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';

/** Granted scopes as each provider answers them, read back into the list `accounts` shows. */
describe('granted scopes', () => {
  it('GitHub answers them comma-separated though they are requested space-separated', async () => {
    const auth = oauth2Of((await loadRegistry()).require('github'));
    expect(splitScopes('repo,read:user', auth)).toEqual(['repo', 'read:user']);
    // As RFC 6749 has them (a standard authorization server standing in for GitHub's).
    expect(splitScopes('repo read:user', auth)).toEqual(['repo', 'read:user']);
  });

  it('Google answers them space-separated, as requested', async () => {
    const auth = oauth2Of((await loadRegistry()).require('gmail'));
    expect(splitScopes('openid  https://www.googleapis.com/auth/gmail.modify', auth)).toEqual([
      'openid',
      'https://www.googleapis.com/auth/gmail.modify',
    ]);
  });
});
