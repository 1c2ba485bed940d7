// The SDK step of docs/tutorial.md: every note of a connection, through `connectr serve`, with
// the TypeScript SDK's platform client. Run from the connectr folder after `npm ci` (which builds
// the SDK); in a project of your own, `npm install @connectr/sdk` and import from '@connectr/sdk'.
//   node examples/tutorial/notes.mjs conn_...     (CONNECTR_URL, CONNECTR_API_KEY from the environment)
import { ConnectrClient } from '../../sdk/typescript/dist/index.js';

const connectionId = process.argv[2];
if (!connectionId) {
  console.error('usage: node examples/tutorial/notes.mjs <connection id>');
  process.exit(2);
}
const client = new ConnectrClient();
try {
  // Every item of every page: the daemon follows the connector's pagination.
  for await (const note of client.executeAll({ connection_id: connectionId, endpoint: 'list_notes' })) {
    console.log(`${note.id}. ${note.text}`);
  }
} catch (error) {
  // A ConnectrError says what went wrong and how to fix it (never the API key).
  console.error(`error: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ''}`);
  process.exit(1);
}
