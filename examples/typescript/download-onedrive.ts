/**
 * Downloads a file from OneDrive, by its path from the drive's root, to a local file.
 *
 *   CONNECTR_API_KEY=cnr_... tsx download-onedrive.ts conn_... Documents/report.pdf ./report.pdf
 *   (or the connection id in ONEDRIVE_CONNECTION_ID and the two paths as the only arguments)
 *
 * `execute` answers binary content as a Uint8Array (up to 16 MiB); for larger files stream
 * them through the raw proxy: (await client.proxy(id, 'me/drive/root:/<path>:/content')).body.
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { clientFromEnv, connectionId, fail, run } from './common.js';

run(async () => {
  const args = process.argv.slice(2);
  const rest = args.length >= 3 ? args.slice(1) : args;
  const connection = connectionId(args.length >= 3 ? args : [], 'ONEDRIVE_CONNECTION_ID');
  const [remote, local = basename(rest[0] ?? '')] = rest;
  if (!remote) fail('usage: download-onedrive.ts [connection id] <onedrive path> [local file]');
  const client = clientFromEnv();
  const result = await client.execute(
    { connection_id: connection, endpoint: 'download_by_path', params: { path: remote } },
    { retry: true }, // a read: safe to repeat
  );
  if (result.status !== 200 || !(result.body instanceof Uint8Array))
    fail(`OneDrive refused the download (${result.status}): ${JSON.stringify(result.body)}`);
  await writeFile(local, result.body);
  process.stdout.write(`downloaded ${remote} (${result.body.length} bytes) to ${local}\n`);
});
