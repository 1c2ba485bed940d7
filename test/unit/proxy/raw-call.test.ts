import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { Connector } from '../../../src/core/connector/model.js';
import { loadRegistry } from '../../../src/core/connector/registry.js';
import { matchedEndpoint, prepareRawCall } from '../../../src/core/proxy/raw-call.js';
import type { RawCall } from '../../../src/core/proxy/raw-call.js';
import { isConnectrError } from '../../../src/core/errors.js';
import { BUILTIN_CONNECTORS } from '../../helpers/builtin.js';

/**
 * `connectr api` looks for the declared endpoint a caller's path matches (its pagination and
 * response kind then apply). The path is the caller's: matching it must cost time linear in its
 * length, whatever it holds, and keep the template semantics: `{x}` stands for one or more
 * characters other than `?` and `#` (slashes included: OneDrive's `root:/{path}:/content`),
 * and a trailing slash is allowed.
 */

const registry = await loadRegistry();
const env = {};

function raw(connector: string, target: string, method = 'GET', host?: string): RawCall {
  return prepareRawCall({ connector: registry.require(connector), method, target, host }, env);
}

function matched(connector: string, target: string, method = 'GET', host?: string): string | undefined {
  const input = { connector: registry.require(connector), method, target, host };
  const found = matchedEndpoint(input, env)?.name;
  // What the call is then prepared with, for every path the call itself does not refuse.
  try {
    expect(prepareRawCall(input, env).matched?.name).toBe(found);
  } catch (error) {
    if (!isConnectrError(error) || error.code !== 'invalid_input') throw error;
  }
  return found;
}

describe('connectr api: the endpoint a path matches', () => {
  it('matches a template with placeholders, a query and a trailing slash', () => {
    expect(matched('gmail', '/gmail/v1/users/me/messages')).toBe('list_messages');
    expect(matched('gmail', '/gmail/v1/users/me/messages/')).toBe('list_messages');
    expect(matched('gmail', '/gmail/v1/users/me/messages?maxResults=2')).toBe('list_messages');
    expect(matched('gmail', 'gmail/v1/users/me/messages/m1')).toBe('get_message');
    // A placeholder spans slashes and the first declared endpoint that matches wins, so this is
    // get_message's `{id}` taking "m1/attachments/a1" (the behaviour kept by the linear matcher).
    expect(matched('gmail', '/gmail/v1/users/me/messages/m1/attachments/a1')).toBe('get_message');
    expect(matched('gmail', '/gmail/v1/users/me/messages/m1/trash', 'POST')).toBe('trash_message');
    // The literal "send" is not a message id: the first declared endpoint that matches wins.
    expect(matched('gmail', '/gmail/v1/users/me/messages/send', 'POST')).toBe('send_message');
  });

  it('lets a placeholder span slashes and sit inside a segment, as the templates need', () => {
    expect(matched('onedrive', '/me/drive/root:/Documents/2026/report.txt:/children')).toBe(
      'list_children_by_path',
    );
    // The first declared endpoint that matches wins: `root:/{path}` takes what follows too.
    expect(matched('onedrive', '/me/drive/root:/Documents/2026/report.txt:/content')).toBe(
      'get_item_by_path',
    );
    expect(matched('onedrive', '/me/drive/items/i1:/notes.txt:/content', 'PUT')).toBe('upload');
    expect(matched('github', '/repos/o/r/contents/docs/guide/intro.md')).toBe('get_repo');
    expect(matched('github', '/repos/o/r/contents/docs/guide/intro.md', 'PUT')).toBe('put_content');
    expect(matched('onedrive', "/me/drive/root/search(q='budget')")).toBe('search');
  });

  it('matches nothing on another method, another host, an empty placeholder, a # or a missing literal', () => {
    expect(matched('gmail', '/gmail/v1/users/me/messages', 'DELETE')).toBeUndefined();
    expect(matched('dropbox', '/2/files/upload', 'POST')).toBe('upload');
    expect(matched('dropbox', '/2/files/upload', 'POST', 'content')).toBe('upload');
    expect(matched('dropbox', '/2/files/upload', 'POST', 'api')).toBeUndefined();
    expect(matched('gmail', '/gmail/v1/users//labels')).toBeUndefined();
    expect(matched('gmail', '/gmail/v1/users/me/labels/')).toBe('list_labels');
    expect(matched('gmail', '/gmail/v1/users/me/labels//')).toBeUndefined();
    expect(matched('gmail', '/gmail/v1/users/me#x/labels')).toBeUndefined();
    expect(matched('gmail', '/gmail/v1/users/me/labelsx')).toBeUndefined();
    expect(matched('gmail', '/gmail/v1/users/me/messages/m1/attachments/', 'POST')).toBeUndefined();
    expect(matched('gmail', '/gmail/v1/users/me/messages/m1/trash/x', 'POST')).toBeUndefined();
    expect(matched('gmail', '/gmail/v1/users/me/messages/a/b/trash', 'POST')).toBe('trash_message');
    expect(matched('gmail', '/gmail/v1/users/me/messages/m1/trashx', 'POST')).toBeUndefined();
    expect(matched('gmail', '/gmail/v2/users/me/labels')).toBeUndefined();
  });

  // The old matcher compiled each template to `^…[^?#]+?…$` and backtracked over every way of
  // cutting the path among its placeholders: seconds for a 10 KB path. One argument of a
  // command line may be 128 KB (Linux's MAX_ARG_STRLEN).
  it("costs milliseconds for the worst paths of 128 KB, against every built-in connector's templates", () => {
    const size = 128 * 1024;
    for (const name of BUILTIN_CONNECTORS) {
      const connector: Connector = registry.require(name);
      for (const endpoint of connector.endpoints) {
        const literals = endpoint.path.split(/\{[^{}]+\}/);
        // Every literal of the template again and again, so that each placeholder has as many
        // places to end as there is room; then a character no placeholder takes, or a plain
        // one, so that the last literal fails or the match depends on every cut.
        const unit = literals.slice(1).join('a') || 'a';
        const body = `${literals[0] ?? ''}a${unit.repeat(Math.ceil(size / unit.length))}`.slice(0, size);
        for (const path of [`${body}#`, `${body}a`, `${body}/`]) {
          const host = connector.hosts.find((h) => h.key === endpoint.host)?.key;
          // The best of three: a busy machine (a collection, another process) may stall any one
          // run, never all three; backtracking costs every run its seconds.
          let took = Infinity;
          for (let run = 0; run < 3 && took >= 200; run++) {
            const started = performance.now();
            try {
              raw(name, path, endpoint.method, host);
            } catch {
              // A refusal after matching (a dot segment, say) is fine: the time is what counts.
            }
            took = Math.min(took, performance.now() - started);
          }
          expect(took, `${name} ${endpoint.name}: ${took.toFixed(0)} ms`).toBeLessThan(200);
        }
      }
    }
  });
});

describe('connectr api: the paths it refuses, as the daemon raw proxy does', () => {
  it.each([
    ['/gmail/v1/users/me/..;/..;/x', 'a ".." segment'],
    ['/gmail/v1/users/me/%EF%BC%8E%EF%BC%8E/x', 'a ".." segment'],
    ['/gmail/v1/users/\u2025/x', 'a ".." segment'],
    ['/gmail/v1/users//labels', 'an empty segment'],
    ['/gmail/v1/users/me#x/labels', 'contains "#"'],
    ['/gmail/v1/users/me%00/labels', 'a control character'],
    ['/gmail/v1/users/me%5C..%5Cx', 'a backslash'],
  ])('refuses %s before anything is read or sent', (target, why) => {
    let caught: unknown;
    try {
      raw('gmail', target.replace('\\u2025', '\u2025'));
    } catch (error) {
      caught = error;
    }
    expect(isConnectrError(caught) && caught.code).toBe('invalid_input');
    expect((caught as Error).message).toContain(why);
    expect((caught as Error).message).toMatch(/^the path /);
  });
});
