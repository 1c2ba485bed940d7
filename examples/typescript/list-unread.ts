/**
 * Lists the unread messages of a Gmail connection: one line per message, "id<TAB>From<TAB>Subject".
 *
 *   CONNECTR_URL=http://127.0.0.1:5000 CONNECTR_API_KEY=cnr_... tsx list-unread.ts conn_...
 *   (or the connection id in GMAIL_CONNECTION_ID)
 *
 * `executeAll` follows Gmail's pages on the server and streams the message ids as they come;
 * each message's headers are then read with `get_message` (format=metadata).
 */
import { clientFromEnv, connectionId, run } from './common.js';

interface MessageRef {
  id: string;
}
interface MessageMetadata {
  payload?: { headers?: { name: string; value: string }[] };
}

run(async () => {
  const client = clientFromEnv();
  const connection = connectionId(process.argv.slice(2), 'GMAIL_CONNECTION_ID');
  let count = 0;
  for await (const ref of client.executeAll<MessageRef>({
    connection_id: connection,
    endpoint: 'list_messages',
    params: { q: 'is:unread', maxResults: 50 },
  })) {
    const message = await client.execute<MessageMetadata>(
      {
        connection_id: connection,
        endpoint: 'get_message',
        params: { id: ref.id, format: 'metadata', metadataHeaders: ['From', 'Subject'] },
      },
      { retry: true }, // a read: safe to repeat
    );
    const header = (name: string): string =>
      message.body.payload?.headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value ?? '';
    process.stdout.write(`${ref.id}\t${header('From')}\t${header('Subject')}\n`);
    count++;
  }
  process.stderr.write(`${count} unread message(s)\n`);
});
