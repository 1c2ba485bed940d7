/**
 * The generated connector clients (src/connectors, made by `npm run generate` from
 * connectors/*.yaml) against the harness: typed methods, iterators over every page, binary
 * answers, uploads, and the platform's errors coming through them.
 */
import { describe, expect, it } from 'vitest';
import {
  DropboxConnector,
  GmailConnector,
  InvalidInputError,
  NotFoundError,
  OnedriveConnector,
} from '../src/index.js';
import { client, harness } from './harness.js';

describe('generated connector clients', () => {
  it('Gmail: a method per endpoint, and every item of every page', async () => {
    const gmail = new GmailConnector(client(), harness().connections.gmail);
    const profile = await gmail.getProfile();
    expect(profile.status).toBe(200);
    expect((profile.body as { emailAddress: string }).emailAddress).toContain('@');
    const ids: string[] = [];
    for await (const item of gmail.listMessagesAll({ q: 'is:unread', maxResults: 2 }))
      ids.push((item as { id: string }).id);
    expect(ids).toHaveLength(4);
    const message = await gmail.getMessage({ id: ids[0] ?? '', format: 'minimal' });
    expect((message.body as { id: string }).id).toBe(ids[0]);
  });

  it('a value outside the enum is refused by the server, naming the param', async () => {
    const gmail = new GmailConnector(client(), harness().connections.gmail);
    const bad = { id: 'x', format: 'everything' } as unknown as Parameters<GmailConnector['getMessage']>[0];
    const error = await gmail.getMessage(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(String((error as Error).message)).toContain('format');
  });

  it("another project's connection is not found", async () => {
    const gmail = new GmailConnector(client(harness().other_key), harness().connections.gmail);
    await expect(gmail.getProfile()).rejects.toBeInstanceOf(NotFoundError);
  });

  it('Dropbox upload then download as bytes; OneDrive download by path', async () => {
    const content = new TextEncoder().encode('generated '.repeat(5000));
    const dropbox = new DropboxConnector(client(), harness().connections.dropbox);
    const saved = await dropbox.upload({ file: content, path: '/docs/generated-ts.bin', mode: 'overwrite' });
    expect(saved.status).toBe(200);
    const got = await dropbox.download({ path: '/docs/generated-ts.bin' });
    expect(Buffer.from(got.body).equals(Buffer.from(content))).toBe(true);
    const names: string[] = [];
    for await (const entry of dropbox.listFolderAll({ path: '/docs' }))
      names.push((entry as { name: string }).name);
    expect(names).toContain('generated-ts.bin');
    const onedrive = new OnedriveConnector(client(), harness().connections.onedrive);
    const file = await onedrive.downloadByPath({ path: 'hello.txt' });
    expect(new TextDecoder().decode(file.body)).toBe('hello from onedrive\n');
  });
});
