import { expect } from 'vitest';
import { startGraphMailEmulator } from '../fixtures/emulators/graph-mail.js';
import type { ConnectorCase } from './cases.js';

/** The Outlook mail connector against the Graph mail emulator (test/fixtures/emulators/graph-mail.ts). */

const MESSAGE = {
  subject: 'Lunch?',
  body: { contentType: 'Text', content: 'At noon.' },
  toRecipients: [{ emailAddress: { address: 'bob@example.com' } }],
};

export const outlook: ConnectorCase = {
  connector: 'outlook',
  async start(dir) {
    const emulator = await startGraphMailEmulator();
    return {
      hosts: { graph: emulator },
      env: { CONNECTR_OUTLOOK_GRAPH_BASE_URL: emulator.baseUrl, CONNECTR_OUTLOOK_TOKEN: emulator.token },
      token: emulator.token,
      dir,
      close: () => emulator.close(),
    };
  },
  endpoints: {
    get_me: {
      args: () => ['--select', 'displayName,userPrincipalName'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me',
        query: { $select: 'displayName,userPrincipalName' },
      },
      output: (out) => expect(JSON.parse(out)).toMatchObject({ userPrincipalName: 'ann@example.com' }),
    },
    list_messages: {
      args: () => [
        '--top',
        '3',
        '--select',
        'subject,isRead',
        '--filter',
        'isRead eq false',
        '--orderby',
        'receivedDateTime asc',
        '--skip',
        '1',
      ],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/messages',
        query: {
          $top: '3',
          $select: 'subject,isRead',
          $filter: 'isRead eq false',
          $orderby: 'receivedDateTime asc',
          $skip: '1',
        },
      },
      output: (out) =>
        expect((JSON.parse(out) as { value: { subject: string }[] }).value.map((v) => v.subject)).toEqual([
          'Invoice 3',
          'Invoice 5',
          'Invoice 7',
        ]),
    },
    list_folder_messages: {
      args: () => [
        '--folder-id',
        'inbox',
        '--filter',
        'isRead eq true',
        '--orderby',
        'receivedDateTime asc',
        '--top',
        '5',
        '--select',
        'subject',
        '--skip',
        '0',
      ],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/mailFolders/inbox/messages',
        query: {
          $filter: 'isRead eq true',
          $orderby: 'receivedDateTime asc',
          $top: '5',
          $select: 'subject',
          $skip: '0',
        },
      },
      output: (out) =>
        expect((JSON.parse(out) as { value: unknown[] }).value).toEqual([
          { id: 'AAMkMsg002', subject: 'Invoice 2' },
          { id: 'AAMkMsg004', subject: 'Invoice 4' },
        ]),
    },
    search_messages: {
      args: () => ['--search', '"subject:invoice 6"', '--top', '5', '--select', 'subject'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/messages',
        query: { $search: '"subject:invoice 6"', $top: '5', $select: 'subject' },
      },
      output: (out) =>
        expect((JSON.parse(out) as { value: unknown[] }).value).toEqual([
          { id: 'AAMkMsg006', subject: 'Invoice 6' },
        ]),
    },
    get_message: {
      args: () => ['--message-id', 'AAMkMsg004', '--select', 'subject,from'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/messages/AAMkMsg004',
        query: { $select: 'subject,from' },
      },
      output: (out) =>
        expect(JSON.parse(out)).toMatchObject({
          id: 'AAMkMsg004',
          subject: 'Invoice 4',
          from: { emailAddress: { address: 'bob@example.com' } },
        }),
    },
    send_mail: {
      args: () => ['--message', JSON.stringify(MESSAGE), '--no-save-to-sent-items'],
      expect: {
        host: 'graph',
        method: 'POST',
        path: '/v1.0/me/sendMail',
        headers: { 'content-type': /^application\/json/ },
        json: { message: MESSAGE, saveToSentItems: false },
      },
    },
    list_mail_folders: {
      args: () => ['--top', '10', '--select', 'displayName', '--include-hidden-folders'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/mailFolders',
        query: { $top: '10', $select: 'displayName', includeHiddenFolders: 'true' },
      },
      output: (out) => expect((JSON.parse(out) as { value: unknown[] }).value).toHaveLength(5),
    },
    get_mail_folder: {
      args: () => ['--folder-id', 'inbox', '--select', 'displayName,totalItemCount'],
      expect: {
        host: 'graph',
        method: 'GET',
        path: '/v1.0/me/mailFolders/inbox',
        query: { $select: 'displayName,totalItemCount' },
      },
      output: (out) =>
        expect(JSON.parse(out)).toEqual({ id: 'AAMkFolderInbox', displayName: 'Inbox', totalItemCount: 5 }),
    },
  },
  idempotent: { endpoint: 'get_me', args: [] },
  nonIdempotent: { endpoint: 'send_mail', args: ['--message', JSON.stringify(MESSAGE)] },
  everyHost: [{ endpoint: 'get_me', args: () => [] }],
  pagination: {
    list_messages: { args: () => ['--top', '2'], items: 7, minPages: 4 },
    list_folder_messages: { args: () => ['--folder-id', 'inbox', '--top', '2'], items: 5, minPages: 3 },
    search_messages: { args: () => ['--search', '"invoice"', '--top', '3'], items: 7, minPages: 3 },
    list_mail_folders: { args: () => ['--top', '1'], items: 4, minPages: 4 },
  },
};
