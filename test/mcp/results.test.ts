import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { toolsOf } from '../../src/mcp/tools.js';
import type { Connected, ToolResult } from './helpers.js';
import { connectInMemory, fakeCredentials, structured, testHost, textOf } from './helpers.js';
import { startUpstreams } from './upstreams.js';
import type { Upstreams } from './upstreams.js';

/**
 * connectr's MCP server in-process, through the official SDK's Client over an in-memory
 * transport, against the Gmail, Dropbox, OneDrive, Slack and fixture emulators with a fake
 * credential source: every kind of answer as a tool result, and pagination one page per call
 * with next_cursor, in each pagination style. Hostile input is in hostile.test.ts.
 */

const TOKEN = 'mcp-results-secret-token-7f3a9c';

let up: Upstreams;
let mcp: Connected;
const credentials = fakeCredentials(TOKEN);

beforeAll(async () => {
  up = await startUpstreams(TOKEN);
  const registry = await loadRegistry();
  const connectors = ['gmail', 'dropbox', 'onedrive', 'slack'].map((name) => registry.require(name));
  const tools = toolsOf([...connectors, up.fixtureConnector]);
  mcp = await connectInMemory(tools, testHost(up.env, credentials.source));
});

afterAll(async () => {
  await mcp.close();
  await up.close();
});

/** The text content of a result as JSON. */
function jsonText(result: ToolResult): unknown {
  return JSON.parse(textOf(result));
}

function resourceOf(result: ToolResult): { uri: string; mimeType?: string | undefined; blob: string } {
  const found = result.content.find((c) => c.type === 'resource');
  if (found?.type !== 'resource' || !('blob' in found.resource))
    throw new Error(`no blob resource in ${JSON.stringify(result)}`);
  return found.resource;
}

describe('every kind of answer as a tool result', () => {
  it('JSON: structuredContent and the same object as text', async () => {
    const result = await mcp.call('gmail_get_profile');
    expect(result.isError).toBeFalsy();
    expect(structured(result)).toMatchObject({ emailAddress: 'ann@example.com', messagesTotal: 7 });
    expect(jsonText(result)).toEqual(structured(result));
    expect(up.gmail.requests.at(-1)?.url.pathname).toBe('/gmail/v1/users/me/profile');
  });

  it('JSON that is not an object: under result', async () => {
    const result = await mcp.call('fixture_numbers');
    expect(structured(result)).toEqual({ result: [1, 2, 3] });
    expect(jsonText(result)).toEqual({ result: [1, 2, 3] });
  });

  it('text: one text content, no structuredContent', async () => {
    const result = await mcp.call('fixture_note');
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'a note in plain words\n' }]);
    expect(result.structuredContent).toBeUndefined();
  });

  it('empty (204): says it was done, with the status', async () => {
    const list = structured(await mcp.call('gmail_list_messages', { maxResults: 1 }));
    const id = (list.messages as { id: string }[])[0]?.id ?? '';
    const result = await mcp.call('gmail_delete_message', { id });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('Done: Gmail answered HTTP 204, with no content.');
    expect(up.gmail.requests.at(-1)).toMatchObject({ method: 'DELETE' });
    // Gone upstream: getting it again is the provider's 404, as an error result.
    const again = await mcp.call('gmail_get_message', { id });
    expect(again.isError).toBe(true);
  });

  it('binary: an embedded resource with the bytes as base64 and their type', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 255, 10, 13]);
    const item = up.graph.addFile('01ROOTID', 'bytes.bin', bytes);
    const result = await mcp.call('onedrive_download', { item_id: item.id });
    expect(result.isError).toBeFalsy();
    const resource = resourceOf(result);
    expect(resource.uri).toBe('connectr://onedrive/download');
    expect(resource.mimeType).toBeTruthy();
    expect(Buffer.from(resource.blob, 'base64')).toEqual(bytes);
  });

  it("binary with a header result (Dropbox-API-Result): the file's metadata beside the bytes", async () => {
    up.dropbox.addFolder('/Reports');
    up.dropbox.addFile('/Reports/q3.txt', Buffer.from('third quarter\n'));
    const result = await mcp.call('dropbox_download', { path: '/Reports/q3.txt' });
    expect(result.isError).toBeFalsy();
    expect(structured(result)).toMatchObject({
      result: { name: 'q3.txt', path_display: '/Reports/q3.txt', size: 14 },
    });
    expect(jsonText(result)).toEqual(structured(result));
    const resource = resourceOf(result);
    expect(resource.uri).toBe('connectr://dropbox/download');
    expect(Buffer.from(resource.blob, 'base64').toString()).toBe('third quarter\n');
    // The arguments went in Dropbox-API-Arg, as the definition says.
    expect(up.dropbox.content.requests.at(-1)?.headers['dropbox-api-arg']).toBe('{"path":"/Reports/q3.txt"}');
  });

  it('binary over 4 MiB: an error result with the way to get it, not a huge result', async () => {
    const item = up.graph.addFile('01ROOTID', 'big.bin', { size: 5 * 1024 * 1024 });
    const result = await mcp.call('onedrive_download', { item_id: item.id });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('larger than 4 MiB');
    expect(textOf(result)).toContain('connectr call onedrive download -o FILE');
    expect(JSON.stringify(result).length).toBeLessThan(10_000);
  });

  it('an upstream error: isError with the provider message, and its status and body as data', async () => {
    const result = await mcp.call('gmail_get_message', { id: 'no-such-message' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Gmail answered 404 Not Found/);
    expect(structured(result)).toMatchObject({ error: { status: 404, body: { error: { code: 404 } } } });
  });

  it('a file param as text, or as base64 bytes in <param>_base64, never as a path', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);
    const viaBase64 = await mcp.call('dropbox_upload', {
      path: '/Uploads/raw.bin',
      file_base64: bytes.toString('base64'),
    });
    expect(viaBase64.isError).toBeFalsy();
    expect(structured(viaBase64)).toMatchObject({ path_display: '/Uploads/raw.bin', size: 5 });
    expect(up.dropbox.content.requests.at(-1)?.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    const viaText = await mcp.call('dropbox_upload', { path: '/Uploads/notes.txt', file: '/etc/hostname' });
    expect(viaText.isError).toBeFalsy();
    // The text itself was uploaded: a path is content here, never read from this machine.
    expect(up.dropbox.content.requests.at(-1)?.body.toString()).toBe('/etc/hostname');
  });
});

describe('pagination: one page per call, next_cursor to the next', () => {
  /** Calls `tool` page after page, following next_cursor under `cursorName`; every page's result. */
  async function allPages(
    tool: string,
    args: Record<string, unknown>,
    cursorName = 'cursor',
  ): Promise<Record<string, unknown>[]> {
    const pages: Record<string, unknown>[] = [];
    let cursor: unknown;
    do {
      const result = await mcp.call(tool, cursor === undefined ? args : { ...args, [cursorName]: cursor });
      expect(result.isError, textOf(result)).toBeFalsy();
      const page = structured(result);
      pages.push(page);
      cursor = page.next_cursor;
      expect(pages.length).toBeLessThan(20);
    } while (cursor !== undefined);
    return pages;
  }

  it('page_token (Gmail): every message once, each page asked with the previous pageToken', async () => {
    const before = up.gmail.requests.length;
    const pages = await allPages('gmail_list_messages', { maxResults: 2 });
    const ids = pages.flatMap((p) => (p.messages as { id: string }[] | undefined)?.map((m) => m.id) ?? []);
    expect(ids.length).toBeGreaterThanOrEqual(6);
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages.length).toBe(Math.ceil(ids.length / 2));
    // next_cursor is opaque: not Gmail's page token.
    expect(String(pages[0]?.next_cursor)).toMatch(/^c1\./);
    expect(String(pages[0]?.next_cursor)).not.toBe(pages[0]?.nextPageToken);
    const asked = up.gmail.requests.slice(before).map((r) => r.url.searchParams.get('pageToken'));
    expect(asked).toEqual([null, ...pages.slice(0, -1).map((p) => p.nextPageToken)]);
    // The other arguments are kept on every page.
    for (const r of up.gmail.requests.slice(before)) expect(r.url.searchParams.get('maxResults')).toBe('2');
  });

  it('cursor (Dropbox): list_folder, then list_folder/continue with the cursor', async () => {
    up.dropbox.addFolder('/Paged');
    for (let i = 1; i <= 5; i++)
      up.dropbox.addFile(`/Paged/file${String(i)}.txt`, Buffer.from(`${String(i)}\n`));
    const before = up.dropbox.api.requests.length;
    const pages = await allPages('dropbox_list_folder', { path: '/Paged', limit: 2 });
    const names = pages.flatMap((p) => (p.entries as { name: string }[]).map((e) => e.name));
    expect(names.sort()).toEqual(['file1.txt', 'file2.txt', 'file3.txt', 'file4.txt', 'file5.txt']);
    const sent = up.dropbox.api.requests.slice(before);
    expect(sent.map((r) => r.url.pathname)).toEqual([
      '/2/files/list_folder',
      '/2/files/list_folder/continue',
      '/2/files/list_folder/continue',
    ]);
    expect(JSON.parse(sent[1]?.body.toString() ?? '')).toEqual({ cursor: pages[0]?.cursor });
  });

  it('next_link (Graph): the @odata.nextLink of each page', async () => {
    const folder = up.graph.addFolder('01ROOTID', 'Paged');
    for (let i = 1; i <= 5; i++) up.graph.addFile(folder.id, `item${String(i)}.txt`, Buffer.from('x'));
    const before = up.graph.graph.requests.length;
    const pages = await allPages('onedrive_list_children', { item_id: folder.id, top: 2 });
    const names = pages.flatMap((p) => (p.value as { name: string }[]).map((e) => e.name));
    expect(names).toEqual(['item1.txt', 'item2.txt', 'item3.txt', 'item4.txt', 'item5.txt']);
    const sent = up.graph.graph.requests.slice(before);
    expect(sent.map((r) => r.url.searchParams.get('$skiptoken'))).toEqual([null, '2', '4']);
  });

  it('page_token (Slack, whose own param is cursor): the cursor argument is _cursor; ok:false mid-way is an error result', async () => {
    const listed = await mcp.client.listTools();
    const tool = listed.tools.find((t) => t.name === 'slack_list_messages');
    expect(Object.keys(tool?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['cursor', '_cursor']),
    );

    const first = await mcp.call('slack_list_messages', { channel: 'C0GENERAL1', limit: 3 });
    expect(first.isError).toBeFalsy();
    const page = structured(first);
    expect((page.messages as unknown[]).length).toBe(3);
    const second = await mcp.call('slack_list_messages', {
      channel: 'C0GENERAL1',
      limit: 3,
      _cursor: page.next_cursor,
    });
    expect(second.isError).toBeFalsy();
    const cursorSent = up.slack.requests.at(-1)?.url.searchParams.get('cursor');
    expect(cursorSent).toBe((page.response_metadata as { next_cursor: string }).next_cursor);

    // The channel goes away between two pages: Slack answers HTTP 200 with ok:false.
    up.slack.channels.delete('C0GENERAL1');
    const third = await mcp.call('slack_list_messages', {
      channel: 'C0GENERAL1',
      limit: 3,
      _cursor: structured(second).next_cursor,
    });
    expect(third.isError).toBe(true);
    expect(textOf(third)).toContain('Slack refused the call (channel_not_found)');
    expect(structured(third)).toMatchObject({
      error: { status: 200, body: { ok: false, error: 'channel_not_found' } },
    });
  });

  it('the last page has no next_cursor', async () => {
    const result = await mcp.call('gmail_list_messages', { maxResults: 500 });
    expect(structured(result).next_cursor).toBeUndefined();
  });
});

describe('an altered cursor', () => {
  let sent: number;
  let asks: number;
  beforeEach(() => {
    sent = up.sent();
    asks = credentials.asks();
  });

  const cursorOf = (position: unknown): string =>
    `c1.${Buffer.from(JSON.stringify(position)).toString('base64url')}`;

  async function refused(tool: string, args: Record<string, unknown>, argument = 'cursor'): Promise<void> {
    const result = await mcp.call(tool, args);
    expect(result.isError, JSON.stringify(result)).toBe(true);
    expect(textOf(result)).toMatch(
      new RegExp(`${argument} is not a cursor this tool answered|that cursor is not a page of`),
    );
    expect(textOf(result)).toContain('hint:');
    // Refused before the credential was read or anything was sent.
    expect(up.sent()).toBe(sent);
    expect(credentials.asks()).toBe(asks);
  }

  it('is refused when it is not one connectr made', async () => {
    await refused('gmail_list_messages', { cursor: 'nextPageToken-from-somewhere' });
    await refused('gmail_list_messages', { cursor: 'c1.not-json' });
    await refused('gmail_list_messages', { cursor: 42 });
    await refused('gmail_list_messages', {
      cursor: cursorOf({ kind: 'values', values: { pageToken: 'Mg' }, more: 1 }),
    });
    await refused('gmail_list_messages', { cursor: `c1.${'A'.repeat(20_000)}` });
    await refused('slack_list_messages', { channel: 'C0GENERAL1', _cursor: 'abc' }, '_cursor');
  });

  it('is refused when it sets another param than the page token', async () => {
    await refused('gmail_list_messages', {
      cursor: cursorOf({ kind: 'values', values: { q: 'in:anything' } }),
    });
    await refused('gmail_list_messages', {
      cursor: cursorOf({ kind: 'values', values: { pageToken: 't', q: 'x' } }),
    });
  });

  it("is refused when it is another pagination style's (a cursor for a link, a link for a token)", async () => {
    const folder = up.graph.addFolder('01ROOTID', 'Mixed');
    const page = structured(await mcp.call('dropbox_list_folder', { path: '', limit: 1 }));
    const dropboxCursor = page.next_cursor;
    expect(typeof dropboxCursor).toBe('string');
    sent = up.sent();
    asks = credentials.asks();
    await refused('gmail_list_messages', { cursor: dropboxCursor });
    await refused('onedrive_list_children', { item_id: folder.id, cursor: dropboxCursor });
    await refused('gmail_list_messages', {
      cursor: cursorOf({ kind: 'link', url: `${up.gmail.url}/gmail/v1/users/me/messages` }),
    });
  });

  it('is refused when its link leads to another origin', async () => {
    const folder = up.graph.addFolder('01ROOTID', 'Elsewhere');
    for (let i = 1; i <= 3; i++) up.graph.addFile(folder.id, `f${String(i)}.txt`, Buffer.from('x'));
    const page = structured(await mcp.call('onedrive_list_children', { item_id: folder.id, top: 1 }));
    // c1.<payload>.<seal>: the payload is readable, only connectr can seal one.
    const payload = String(page.next_cursor).slice(3).split('.')[0] ?? '';
    const position = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
      kind: string;
      url: string;
    };
    expect(position.kind).toBe('link');
    sent = up.sent();
    asks = credentials.asks();
    // The same path and query on another server (here: the fixture API, which would see the token).
    const elsewhere = new URL(position.url);
    const other = new URL(up.fixture.url);
    elsewhere.host = other.host;
    await refused('onedrive_list_children', {
      item_id: folder.id,
      cursor: cursorOf({ kind: 'link', url: elsewhere.toString() }),
    });
    await refused('onedrive_list_children', {
      item_id: folder.id,
      cursor: cursorOf({ kind: 'link', url: 'not a url' }),
    });
    // Another path of the same API (an item this tool was not allowed to read): only a cursor
    // connectr sealed for this tool comes back in, so --allow/--deny cannot be got round.
    const item = new URL(position.url);
    item.pathname = item.pathname.replace(/\/children$/, '');
    item.search = '';
    await refused('onedrive_list_children', {
      item_id: folder.id,
      cursor: cursorOf({ kind: 'link', url: item.toString() }),
    });
  });
});

// Last, after every other test of the file.
it('no result and no error an agent saw carried the token', () => {
  expect(mcp.seen.length).toBeGreaterThan(20);
  for (const text of mcp.seen) expect(text).not.toContain(TOKEN);
});
