/**
 * list-unread.ts without a daemon: lists the unread messages of your own Gmail account, signed
 * in with the connectr CLI, from this process. One line per message, "id<TAB>From<TAB>Subject".
 *
 *   npm install @connectr/sdk connectr
 *   npx connectr auth gmail                     # once: signs in, tokens to your keychain
 *   tsx local-unread.ts                         # or: tsx local-unread.ts work (an account name)
 *
 * LocalClient runs the endpoints with connectr's engine (the `connectr` package) and the
 * accounts of `connectr auth`; tokens are refreshed as `connectr call` refreshes them. The
 * GmailConnector is the same generated class the daemon's examples use.
 */
import { GmailConnector, LocalClient } from '@connectr/sdk';
import { run } from './common.js';

interface MessageMetadata {
  payload?: { headers?: { name: string; value: string }[] };
}

run(async () => {
  const account = process.argv[2]; // absent: the default gmail account
  const gmail = new GmailConnector(new LocalClient(), account);
  let count = 0;
  for await (const item of gmail.listMessagesAll({ q: 'is:unread', maxResults: 50 })) {
    const { id } = item as { id: string };
    const message = await gmail.getMessage({ id, format: 'metadata', metadataHeaders: ['From', 'Subject'] });
    const headers = (message.body as MessageMetadata).payload?.headers ?? [];
    const header = (name: string): string =>
      headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value ?? '';
    process.stdout.write(`${id}\t${header('From')}\t${header('Subject')}\n`);
    count++;
  }
  process.stderr.write(`${count} unread message(s)\n`);
});
