/**
 * Uploads a local file to Dropbox (overwriting a file of the same path).
 *
 *   CONNECTR_API_KEY=cnr_... tsx upload-dropbox.ts conn_... ./report.pdf /Documents/report.pdf
 *   (or the connection id in DROPBOX_CONNECTION_ID and the two paths as the only arguments)
 *
 * `execute` sends the bytes base64-encoded (up to 64 MiB); for larger files stream them
 * through the raw proxy instead: client.proxy(id, '2/files/upload', {method: 'POST',
 * host: 'content', headers: {'dropbox-api-arg': ...}, body: fs.createReadStream(file)}).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { clientFromEnv, connectionId, fail, run } from './common.js';

run(async () => {
  const args = process.argv.slice(2);
  const rest = args.length >= 3 ? args.slice(1) : args;
  const connection = connectionId(args.length >= 3 ? args : [], 'DROPBOX_CONNECTION_ID');
  const [local, remote = `/${basename(rest[0] ?? '')}`] = rest;
  if (!local) fail('usage: upload-dropbox.ts [connection id] <local file> [dropbox path]');
  const client = clientFromEnv();
  const bytes = await readFile(local);
  const result = await client.execute<{ path_display?: string; size?: number; error_summary?: string }>({
    connection_id: connection,
    endpoint: 'upload',
    params: { path: remote, mode: 'overwrite' },
    bytes,
  });
  if (result.status !== 200)
    fail(`Dropbox refused the upload (${result.status}): ${JSON.stringify(result.body)}`);
  process.stdout.write(
    `uploaded ${result.body.path_display ?? remote} (${result.body.size ?? bytes.length} bytes)\n`,
  );
});
