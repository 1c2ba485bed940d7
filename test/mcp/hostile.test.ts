import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../src/core/connector/model.js';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { isConnectrError } from '../../src/core/errors.js';
import { checkGlobs, toolsOf } from '../../src/mcp/tools.js';
import type { ToolFilter } from '../../src/mcp/tools.js';
import type { Connected } from './helpers.js';
import { connectInMemory, fakeCredentials, protocolError, testHost, textOf } from './helpers.js';
import { startUpstreams } from './upstreams.js';
import type { Upstreams } from './upstreams.js';

/**
 * What an agent may send that it should not, in-process through the SDK's Client: arguments
 * that do not fit the tool, unknown tools, a huge argument, a cancelled call; and which tools
 * a server offers (annotations, --read-only, --allow/--deny). A bad input is an MCP error with
 * a message, the credential is not read and nothing is sent upstream; no result or error ever
 * carries the token.
 */

const TOKEN = 'mcp-hostile-secret-token-c41d07';

let up: Upstreams;
let connectors: Connector[];
let mcp: Connected;
const credentials = fakeCredentials(TOKEN);
/** Every server of this file, to search all they answered for the token. */
const servers: Connected[] = [];

async function serve(filter: ToolFilter = {}): Promise<Connected> {
  const server = await connectInMemory(toolsOf(connectors, filter), testHost(up.env, credentials.source));
  servers.push(server);
  return server;
}

beforeAll(async () => {
  up = await startUpstreams(TOKEN);
  const registry = await loadRegistry();
  connectors = [
    ...['gmail', 'dropbox', 'onedrive', 'slack'].map((n) => registry.require(n)),
    up.fixtureConnector,
  ];
  mcp = await serve();
});

afterAll(async () => {
  for (const server of servers) await server.close();
  await up.close();
});

let sent: number;
let asks: number;
beforeEach(() => {
  sent = up.sent();
  asks = credentials.asks();
});

/** Nothing went upstream and no credential was read since the test began. */
function nothingSent(): void {
  expect(up.sent()).toBe(sent);
  expect(credentials.asks()).toBe(asks);
}

describe('arguments that do not fit the tool', () => {
  /** The call is an error result whose text matches `message`; nothing was sent. */
  async function refused(tool: string, args: Record<string, unknown>, message: RegExp): Promise<void> {
    const result = await mcp.call(tool, args);
    expect(result.isError, JSON.stringify(result)).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect(result.structuredContent).toBeUndefined();
    nothingSent();
  }

  it('a value of the wrong type names the argument as the tool calls it', async () => {
    await refused(
      'gmail_list_messages',
      { maxResults: 'many' },
      /^maxResults expects an integer; got "many"/,
    );
    await refused('gmail_list_messages', { maxResults: 2.5 }, /^maxResults expects an integer; got 2\.5/);
    await refused(
      'gmail_list_messages',
      { includeSpamTrash: 'perhaps' },
      /^includeSpamTrash expects true or false/,
    );
    await refused('gmail_get_message', { id: { nested: true } }, /^id expects text/);
    await refused('dropbox_list_folder', { path: '', limit: [5] }, /^limit expects an integer/);
  });

  it('a value out of range or not among the choices', async () => {
    await refused('gmail_list_messages', { maxResults: 0 }, /^maxResults must be at least 1; got 0/);
    await refused('gmail_list_messages', { maxResults: 501 }, /^maxResults must be at most 500/);
    await refused(
      'gmail_get_message',
      { id: 'x', format: 'everything' },
      /^format must be one of minimal, full, raw, metadata/,
    );
  });

  it('an argument the tool does not have', async () => {
    await refused(
      'gmail_get_profile',
      { nope: 1 },
      /get_profile has no parameter "nope"\nhint: its parameters: userId/,
    );
    // The CLI's flag name is not an argument name here.
    await refused('gmail_list_messages', { 'max-results': 5 }, /has no parameter "max-results"/);
    // A cursor only where the endpoint pages.
    await refused('gmail_get_profile', { cursor: 'c1.e30' }, /has no parameter "cursor"/);
  });

  it('a required argument missing (or null)', async () => {
    await refused(
      'gmail_get_message',
      {},
      /^missing required parameter id for get_message\nhint: id: The message id\./,
    );
    await refused('gmail_get_message', { id: null }, /^missing required parameter id/);
    await refused('dropbox_upload', { file: 'content' }, /^missing required parameter path for upload/);
  });

  it('a path value that would leave the endpoint path', async () => {
    await refused('gmail_get_message', { id: '../profile' }, /contains a "\." or "\.\." segment/);
    await refused('onedrive_get_item', { item_id: '%2e%2e' }, /contains a "\." or "\.\." segment/);
  });

  it('a file param: both forms at once, bad base64, or neither', async () => {
    await refused(
      'dropbox_upload',
      { path: '/a.txt', file: 'x', file_base64: 'eA==' },
      /^give file or file_base64, not both/,
    );
    await refused(
      'dropbox_upload',
      { path: '/a.txt', file_base64: 'not base64!' },
      /^file_base64 must be base64 text/,
    );
    await refused('dropbox_upload', { path: '/a.txt', file: 42 }, /^file must be a string/);
    await refused('dropbox_upload', { path: '/a.txt' }, /^missing required parameter file for upload/);
  });
});

describe('protocol errors', () => {
  it('an unknown tool is -32602 (InvalidParams) naming the nearest tool; nothing is sent', async () => {
    const error = await protocolError(mcp.call('gmail_get_profil'));
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.code).toBe(-32602);
    expect(error.message).toContain('unknown tool "gmail_get_profil"; did you mean "gmail_get_profile"?');
    for (const name of ['__proto__', 'constructor', 'toString', '', 'gmail get_profile']) {
      const other = await protocolError(mcp.call(name));
      expect(other.code).toBe(-32602);
      expect(other.message).toContain('unknown tool');
    }
    nothingSent();
  });

  it('arguments over 16 MiB are -32602 and never sent', async () => {
    const raw = 'A'.repeat(16 * 1024 * 1024 + 1);
    const error = await protocolError(mcp.call('gmail_send_message', { raw }));
    expect(error.code).toBe(-32602);
    expect(error.message).toContain(
      'the arguments of gmail_send_message are larger than 16 MiB; nothing was sent',
    );
    // The same over 16 MiB of bytes in fewer characters (3 bytes each in UTF-8).
    const wide = '€'.repeat(6 * 1024 * 1024);
    const wideError = await protocolError(mcp.call('dropbox_upload', { path: '/big.txt', file: wide }));
    expect(wideError.code).toBe(-32602);
    nothingSent();
    // The server goes on answering.
    expect((await mcp.call('gmail_get_profile')).isError).toBeFalsy();
  });

  it('a cancelled call stops the upstream request, and the server goes on', async () => {
    const controller = new AbortController();
    const call = mcp.call('fixture_stall', {}, controller.signal);
    const outcome = call.then(
      () => 'answered',
      (error: unknown) => error,
    );
    await until(() => up.stalls.length === 1, 'the stalled request reached the upstream');
    expect(up.stallsClosed).toEqual([]);
    controller.abort(new Error('the user pressed stop'));
    expect(String(await outcome)).toContain('the user pressed stop');
    // The upstream sees its connection closed: the request is aborted, not left to time out.
    await until(() => up.stallsClosed.length === 1, 'the upstream request was aborted');
    expect((await mcp.call('gmail_get_profile')).isError).toBeFalsy();
  });
});

async function until(done: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('which tools are offered, and what they say of themselves', () => {
  it('annotations from the method and the definition', async () => {
    const { tools } = await mcp.client.listTools();
    const hints = (name: string): unknown => tools.find((t) => t.name === name)?.annotations;
    const readOnly = {
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    };
    expect(hints('gmail_get_profile')).toEqual({
      title: 'Gmail: Get the address, message and thread counts of the mailbox',
      ...readOnly,
    });
    expect(hints('onedrive_list_children')).toMatchObject(readOnly);
    // DELETE: destructive, idempotent.
    expect(hints('gmail_delete_message')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(hints('onedrive_delete')).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    // POST: neither read-only nor idempotent, unless the definition says so.
    expect(hints('gmail_send_message')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
    });
    expect(hints('dropbox_list_folder')).toMatchObject({
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
    });
    // Dropbox deletes with a POST: destructive by its definition.
    expect(hints('dropbox_delete')).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    // PUT and PATCH are idempotent.
    expect(hints('onedrive_upload')).toMatchObject({ readOnlyHint: false, idempotentHint: true });
    for (const tool of tools) {
      expect(tool.name).toMatch(/^[a-z]+_[a-z0-9_]+$/);
      expect(tool.inputSchema).toMatchObject({ type: 'object', additionalProperties: false });
      expect(tool.annotations?.openWorldHint).toBe(true);
    }
  });

  it('read-only: only GET and HEAD; a tool left out is unknown, and nothing is sent', async () => {
    const server = await serve({ readOnly: true });
    const { tools } = await server.client.listTools();
    expect(tools.length).toBeGreaterThan(10);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
    const names = tools.map((t) => t.name);
    expect(names).toContain('gmail_list_messages');
    expect(names).not.toContain('gmail_delete_message');
    expect(names).not.toContain('dropbox_list_folder');
    const error = await protocolError(server.call('gmail_delete_message', { id: 'x' }));
    expect(error.code).toBe(-32602);
    nothingSent();
  });

  it('allow and deny globs on tool names, deny after allow', async () => {
    const names = async (filter: ToolFilter): Promise<string[]> =>
      (await (await serve(filter)).client.listTools()).tools.map((t) => t.name).sort();
    const gmail = await names({ allow: ['gmail_*'] });
    expect(gmail.length).toBeGreaterThan(5);
    expect(gmail.every((n) => n.startsWith('gmail_'))).toBe(true);
    const both = await names({ allow: ['gmail_get_*', 'dropbox_list_folder'] });
    expect(both).toEqual([
      'dropbox_list_folder',
      'gmail_get_attachment',
      'gmail_get_message',
      'gmail_get_profile',
      'gmail_get_thread',
    ]);
    const noDeletes = await names({ deny: ['*_delete*', '*trash*'] });
    expect(noDeletes).not.toContain('gmail_delete_message');
    expect(noDeletes).not.toContain('dropbox_delete');
    expect(noDeletes).not.toContain('gmail_trash_message');
    expect(noDeletes).toContain('gmail_send_message');
    expect(await names({ allow: ['gmail_*'], deny: ['gmail_*'] })).toEqual([]);
    const denied = await serve({ allow: ['gmail_*'], deny: ['gmail_send_*'] });
    const error = await protocolError(denied.call('gmail_send_message', { raw: 'VG86IGFAYg' }));
    expect(error.code).toBe(-32602);
    nothingSent();
  });

  it('a glob that is not a tool-name glob is a usage error naming it', () => {
    for (const glob of ['', ' ', 'gmail_*; rm', '../gmail', 'gmail/*', 'a b']) {
      let caught: unknown;
      try {
        checkGlobs([glob], '--allow');
      } catch (error) {
        caught = error;
      }
      expect(isConnectrError(caught) && caught.code === 'usage', JSON.stringify(glob)).toBe(true);
      expect((caught as Error).message).toContain(`--allow "${glob}" is not a tool-name glob`);
    }
    expect(
      checkGlobs(['gmail_*', '*_list_*', 'dropbox_{get,list}_*', 'slack_?ist_*'], '--deny'),
    ).toHaveLength(4);
  });
});

// Last, after every other test of the file.
it('no result and no error any server answered carried the token', () => {
  const seen = servers.flatMap((s) => s.seen);
  expect(seen.length).toBeGreaterThan(20);
  for (const text of seen) expect(text).not.toContain(TOKEN);
});
