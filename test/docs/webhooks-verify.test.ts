import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scaledSchedule } from '../../src/server/webhooks/schedule.js';
import { freePort } from '../helpers/net.js';
import { PGLITE } from '../helpers/server-store.js';
import { callApi, withServer } from '../helpers/server.js';
import type { TestDaemon } from '../helpers/server.js';

/**
 * The TypeScript receiver of docs/webhooks.md ("Verifying a delivery"), run as written (with
 * tsx) against a real daemon: it verifies a real delivery with the official library and
 * refuses a forged one.
 */

const root = join(import.meta.dirname, '../..');
const markdown = readFileSync(join(root, 'docs/webhooks.md'), 'utf8');
const section = markdown.slice(markdown.indexOf('\n## Verifying a delivery\n'));
const snippet = /\n```ts\n([\s\S]*?)\n```/.exec(section)?.[1] ?? '';

describe('docs/webhooks.md: the TypeScript receiver', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('verifies a delivery of the daemon and refuses a forged one', async () => {
    expect(snippet).toContain("from 'standardwebhooks'");
    // Inside the checkout (.tmp/ is ignored by git), so that its imports resolve to this node_modules.
    mkdirSync(join(root, '.tmp'), { recursive: true });
    const dir = mkdtempSync(join(root, '.tmp', 'webhook-snippet-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'receiver.ts'), snippet);

    const daemon: TestDaemon = await withServer({
      backend: PGLITE,
      listen: true,
      app: { webhooks: { schedule: scaledSchedule(0.001), pollMs: 50, timeoutMs: 2000 } },
    });
    cleanups.push(() => daemon.close());
    const key = await daemon.key(await daemon.project());
    const port = await freePort();
    const made = await callApi(daemon.base, 'POST', '/api/v1/webhooks', key, {
      url: `http://127.0.0.1:${port}/events`,
    });
    expect(made.status).toBe(201);

    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'receiver.ts')], {
      env: { ...process.env, PORT: String(port), WEBHOOK_SECRET: made.json.secret as string },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    cleanups.push(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));

    const test = await callApi(daemon.base, 'POST', `/api/v1/webhooks/${made.json.id as string}/test`, key);
    const eventId = test.json.event_id as string;
    const until = Date.now() + 20_000;
    while (!stdout.includes(eventId) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(stdout, stderr).toContain(`webhook.test  ${eventId}`);

    const forged = await fetch(`http://127.0.0.1:${port}/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      },
      body: '{"type":"connection.deleted","timestamp":"2030-01-01T00:00:00.000Z","data":{}}',
    });
    expect(forged.status).toBe(400);
    expect(stdout).not.toContain('msg_forged');
  });
});
