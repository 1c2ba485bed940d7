/** The programs of examples/typescript, run as a user would (tsx), against the harness's server. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, harness } from './harness.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', '..', 'examples', 'typescript');
let work = '';

// Made here, not at import: a run that skips these tests (-t) leaves nothing behind.
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'connectr-sdk-examples-'));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function example(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: EXAMPLES,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '',
      CONNECTR_URL: harness().url,
      CONNECTR_API_KEY: harness().api_key,
      ...env,
    },
  });
  return { stdout, stderr };
}

describe('examples/typescript', () => {
  it('list-unread.ts lists the 4 unread messages with sender and subject', async () => {
    const { stdout, stderr } = await example('list-unread.ts', [harness().connections.gmail]);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.split('\t').slice(1)).sort()).toEqual(
      ['Message 1', 'Message 3', 'Message 5', 'Message 7'].map((s) => ['bob@example.com', s]),
    );
    expect(stderr).toContain('4 unread message(s)');
  });

  it('upload-dropbox.ts uploads a local file (connection id from the environment)', async () => {
    const local = join(work, 'notes.txt');
    writeFileSync(local, 'notes from the example\n');
    const { stdout } = await example('upload-dropbox.ts', [local, '/docs/notes.txt'], {
      DROPBOX_CONNECTION_ID: harness().connections.dropbox,
    });
    expect(stdout.trim()).toBe('uploaded /docs/notes.txt (23 bytes)');
    const back = await client().execute({
      connection_id: harness().connections.dropbox,
      endpoint: 'download',
      params: { path: '/docs/notes.txt' },
    });
    expect(new TextDecoder().decode(back.body as Uint8Array)).toBe('notes from the example\n');
  });

  it('download-onedrive.ts writes the file', async () => {
    const local = join(work, 'hello.txt');
    const { stdout } = await example('download-onedrive.ts', [
      harness().connections.onedrive,
      'hello.txt',
      local,
    ]);
    expect(stdout.trim()).toBe(`downloaded hello.txt (20 bytes) to ${local}`);
    expect(readFileSync(local, 'utf8')).toBe('hello from onedrive\n');
  });

  it('an example with a refused key says so and exits 1, without the key', async () => {
    const bad = 'cnr_nope_notavalidkeyatall000000000';
    const failure = await example('list-unread.ts', [harness().connections.gmail], {
      CONNECTR_API_KEY: bad,
    }).catch((error: unknown) => error as { code: number; stderr: string; stdout: string });
    expect('code' in failure && failure.code).toBe(1);
    const text = (failure as { stderr: string }).stderr;
    expect(text).toContain('auth_required');
    expect(text).not.toContain(bad);
  });
});
