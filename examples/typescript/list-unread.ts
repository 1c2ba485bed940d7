/**
 * Lists the unread messages of a Gmail connection: one line per message, "id<TAB>From<TAB>Subject".
 *
 *   CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=cnr_... tsx list-unread.ts conn_...
 *   (or the connection id in GMAIL_CONNECTION_ID)
 *
 * Through the generated GmailConnector: `listMessagesAll` follows Gmail's pages on the server and
 * streams the message ids as they come; each message's headers are then read with `getMessage`
 * (format=metadata).
 */
import { GmailConnector } from '@connectr/sdk';
import { clientFromEnv, connectionId, run } from './common.js';

interface MessageRef {
  id: string;
}
interface MessageMetadata {
  payload?: { headers?: { name: string; value: string }[] };
}

run(async () => {
  const gmail = new GmailConnector(
    clientFromEnv(),
    connectionId(process.argv.slice(2), 'GMAIL_CONNECTION_ID'),
  );
  let count = 0;
  for await (const item of gmail.listMessagesAll({ q: 'is:unread', maxResults: 50 })) {
    const ref = item as MessageRef;
    const message = await gmail.getMessage({
      id: ref.id,
      format: 'metadata',
      metadataHeaders: ['From', 'Subject'],
    });
    const body = message.body as MessageMetadata;
    const header = (name: string): string =>
      body.payload?.headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value ?? '';
    process.stdout.write(`${ref.id}\t${header('From')}\t${header('Subject')}\n`);
    count++;
  }
  process.stderr.write(`${count} unread message(s)\n`);
});
