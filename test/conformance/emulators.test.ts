import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDropboxEmulator } from '../fixtures/emulators/dropbox.js';
import type { DropboxEmulator } from '../fixtures/emulators/dropbox.js';
import { startGmailEmulator } from '../fixtures/emulators/gmail.js';
import type { GmailEmulator } from '../fixtures/emulators/gmail.js';
import { startGraphEmulator } from '../fixtures/emulators/graph.js';
import type { GraphEmulator } from '../fixtures/emulators/graph.js';

/**
 * The emulators refuse what the real services refuse, so that a misspelt parameter in a
 * connector definition fails the conformance suite instead of passing it unnoticed, and keep
 * accepting what the real services accept.
 */
interface Answer {
  readonly status: number;
  readonly text: string;
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  return { status: response.status, text: await response.text() };
}

describe('the Gmail emulator', () => {
  let gmail: GmailEmulator;
  const auth = { authorization: 'Bearer t' };
  const get = (path: string): Promise<Answer> =>
    send(`${gmail.url}/gmail/v1/users/me/${path}`, { headers: auth });
  const post = (path: string, body: unknown): Promise<Answer> =>
    send(`${gmail.url}/gmail/v1/users/me/${path}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  beforeAll(async () => {
    gmail = await startGmailEmulator();
  });
  afterAll(() => gmail.close());

  it('refuses an unknown query parameter, as Gmail does', async () => {
    const r = await get('messages?includeSpamTrsh=true');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({
      error: {
        code: 400,
        status: 'INVALID_ARGUMENT',
        message: expect.stringContaining(
          'Unknown name "includeSpamTrsh": Cannot bind query parameter',
        ) as unknown,
      },
    });
    // A parameter of another method is unknown here too.
    expect((await get('profile?maxResults=3')).status).toBe(400);
    expect((await get('labels?format=raw')).status).toBe(400);
  });

  it('refuses a value that does not parse as the parameter type', async () => {
    expect(JSON.parse((await get('messages?includeSpamTrash=yes')).text)).toMatchObject({
      error: { code: 400, message: `Invalid value at 'include_spam_trash' (TYPE_BOOL), "yes"` },
    });
    expect((await get('threads?maxResults=ten')).status).toBe(400);
    expect((await get('threads/00000000000018c0?format=raw')).status).toBe(400);
  });

  it('refuses an unknown JSON field', async () => {
    const r = await post('labels', { name: 'X', labelListVisibilty: 'labelShow' });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Unknown name \\"labelListVisibilty\\": Cannot find field.');
    expect((await post('messages/00000000000018c0/modify', { addLabelId: ['STARRED'] })).status).toBe(400);
  });

  it('accepts the declared parameters and the system parameters every Google API takes', async () => {
    const r = await get(
      'messages?maxResults=2&pageToken=MA&q=x&labelIds=INBOX&labelIds=UNREAD&includeSpamTrash=false&alt=json&fields=messages&prettyPrint=false&quotaUser=u&key=k',
    );
    expect(r.status, r.text).toBe(200);
    expect(
      (await get('messages/00000000000018c0?format=metadata&metadataHeaders=Subject&metadataHeaders=From'))
        .status,
    ).toBe(200);
    expect(
      (await post('labels', { name: 'Y', labelListVisibility: 'labelShow', messageListVisibility: 'show' }))
        .status,
    ).toBe(200);
  });
});

describe('the Dropbox emulator', () => {
  let dropbox: DropboxEmulator;
  const rpc = (route: string, body: unknown): Promise<Answer> =>
    send(`${dropbox.api.url}/2/${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dropbox.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const content = (route: string, arg: unknown): Promise<Answer> =>
    send(`${dropbox.content.url}/2/${route}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${dropbox.token}`,
        'content-type': 'application/octet-stream',
        'dropbox-api-arg': JSON.stringify(arg),
      },
      body: route === 'files/download' ? '' : 'x',
    });
  beforeAll(async () => {
    dropbox = await startDropboxEmulator();
  });
  afterAll(() => dropbox.close());

  it('refuses an unknown field in a request body or in Dropbox-API-Arg, as Dropbox does', async () => {
    expect(await rpc('files/list_folder', { path: '', include_delted: true })).toEqual({
      status: 400,
      text: `Error in call to API function "files/list_folder": request body: unknown field 'include_delted'`,
    });
    expect(await rpc('files/search_v2', { query: 'a', options: { max_result: 2 } })).toMatchObject({
      status: 400,
      text: expect.stringContaining("unknown field 'options.max_result'") as unknown,
    });
    expect(await content('files/upload', { path: '/a.txt', mutes: true })).toEqual({
      status: 400,
      text: `Error in call to API function "files/upload": HTTP header "Dropbox-API-Arg": unknown field 'mutes'`,
    });
  });

  it('refuses a value of the wrong type and a missing required field', async () => {
    expect((await rpc('files/list_folder', { path: '', recursive: 'true' })).text).toContain(
      'request body: recursive: expected boolean, got string',
    );
    expect((await rpc('files/list_folder', { path: '', limit: 2.5 })).status).toBe(400);
    expect((await rpc('files/move_v2', { from_path: '/readme.md' })).text).toContain(
      "missing required field 'to_path'",
    );
    expect((await content('files/download', {})).text).toContain("missing required field 'path'");
    expect((await content('files/upload', { path: '/c.txt', mode: 'overwrit' })).text).toContain(
      'HTTP header "Dropbox-API-Arg": mode: unknown tag \'overwrit\'',
    );
    const link = await rpc('sharing/create_shared_link_with_settings', {
      path: '/readme.md',
      settings: { audience: 'everyone' },
    });
    expect(link.text).toContain("request body: settings.audience: unknown tag 'everyone'");
  });

  it('accepts every documented field', async () => {
    const r = await rpc('files/list_folder', {
      path: '',
      recursive: false,
      include_deleted: false,
      include_has_explicit_shared_members: false,
      include_mounted_folders: true,
      include_non_downloadable_files: true,
      limit: 10,
    });
    expect(r.status, r.text).toBe(200);
    const upload = await content('files/upload', {
      path: '/b.txt',
      mode: 'add',
      autorename: true,
      mute: true,
      strict_conflict: false,
    });
    expect(upload.status, upload.text).toBe(200);
  });
});

describe('the Graph emulator', () => {
  let graph: GraphEmulator;
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${graph.token}` });
  beforeAll(async () => {
    graph = await startGraphEmulator();
  });
  afterAll(() => graph.close());

  it('refuses an OData query option the operation does not support', async () => {
    const r = await send(`${graph.baseUrl}/me/drive/root/children?$tops=2`, { headers: auth() });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'BadRequest' } });
    expect((await send(`${graph.baseUrl}/me/drive?$top=2`, { headers: auth() })).status).toBe(400);
    expect(
      (await send(`${graph.baseUrl}/me/drive/root/search(q='a')?$orderby=name`, { headers: auth() })).status,
    ).toBe(400);
  });

  it('accepts the options each operation documents, and ignores other parameters as Graph does', async () => {
    for (const url of [
      '/me?$select=id',
      '/me/drive/root/children?$top=2&$select=id,name&$orderby=name%20asc&$expand=thumbnails',
      "/me/drive/root/search(q='a')?$top=2&$select=id",
      '/me/drive/items/01ITEM0001?$select=id&$expand=children',
      '/me/drive/root?unrelated=1',
    ]) {
      const r = await send(`${graph.baseUrl}${url}`, { headers: auth() });
      expect(r.status, `${url}: ${r.text}`).toBe(200);
    }
  });

  it('refuses a body property that driveItem does not declare', async () => {
    const r = await send(`${graph.baseUrl}/me/drive/items/root/children`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'A', folder: {}, '@microsoft.graph.conflictBehaviour': 'rename' }),
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain(
      "The property '@microsoft.graph.conflictBehaviour' does not exist on type 'microsoft.graph.driveItem'",
    );
    const moved = await send(`${graph.baseUrl}/me/drive/items/01ITEM0004`, {
      method: 'PATCH',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({ parentReference: { ids: '01ITEM0002' } }),
    });
    expect(moved.status).toBe(400);
  });

  it('uploads a small file by path (201, missing folders made), a new version of it (200), or by item id (200)', async () => {
    const put = (path: string, body: string): Promise<Response> =>
      fetch(`${graph.baseUrl}${path}`, {
        method: 'PUT',
        headers: { ...auth(), 'content-type': 'text/plain' },
        body,
      });
    const created = await put('/me/drive/root:/Projects/2026/plan.txt:/content', 'first');
    expect(created.status).toBe(201);
    const item = (await created.json()) as { id: string; name: string; size: number; file: unknown };
    expect(item).toMatchObject({ name: 'plan.txt', size: 5, file: {} });
    const again = await put('/me/drive/root:/Projects/2026/plan.txt:/content', 'second!');
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: item.id, size: 7 });
    const byId = await put(`/me/drive/items/${item.id}/content`, 'third');
    expect(byId.status).toBe(200);
    expect(await byId.json()).toMatchObject({ id: item.id, size: 5 });
    const listed = await send(`${graph.baseUrl}/me/drive/root:/Projects/2026:/children`, { headers: auth() });
    expect((JSON.parse(listed.text) as { value: { name: string }[] }).value.map((i) => i.name)).toEqual([
      'plan.txt',
    ]);
    expect((await put('/me/drive/items/nope/content', 'x')).status).toBe(404);
  });

  it('answers HEAD as GET, without the body', async () => {
    for (const path of [
      '/me',
      '/me/drive/root:/readme.md',
      '/me/drive/root/children',
      '/me/drive/root:/nope.txt',
    ]) {
      const get = await fetch(`${graph.baseUrl}${path}`, { headers: auth() });
      const getBody = await get.arrayBuffer();
      const head = await fetch(`${graph.baseUrl}${path}`, { method: 'HEAD', headers: auth() });
      expect(head.status, path).toBe(get.status);
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect(head.headers.get('content-length'), path).toBe(String(getBody.byteLength));
      expect((await head.arrayBuffer()).byteLength, path).toBe(0);
    }
    const head = await fetch(`${graph.baseUrl}/me/drive/root:/readme.md:/content`, {
      method: 'HEAD',
      headers: auth(),
      redirect: 'manual',
    });
    expect(head.status).toBe(302);
    expect(head.headers.get('location')).toContain('/dl/');
  });
});
