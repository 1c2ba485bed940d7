import { afterAll, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import type { RunningBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { BACKENDS, newKey, variantTitle } from '../helpers/server-store.js';
import { callApi } from '../helpers/server.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import type { Receiver } from '../helpers/webhook-receiver.js';

/**
 * Durability of webhooks across a crash: the real `connectr serve`, killed with SIGKILL while a
 * delivery is in flight (the receiver holds it unanswered), delivers the same event once it
 * runs again, on the same PGlite folder or PostgreSQL database.
 */

const STARTED = /connectr serve: listening on (http:\/\/127\.0\.0\.1:\d+)/;

for (const variant of BACKENDS) {
  describe.skipIf(variant.skip !== undefined)(`webhooks across a SIGKILL on ${variantTitle(variant)}`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    async function serve(env: Record<string, string>): Promise<{ running: RunningBin; url: string }> {
      const running = startBin(['serve', '--port', '0', '--log-level', 'warn'], env, 55_000);
      cleanups.push(async () => {
        running.child.kill('SIGKILL');
        await running.done;
      });
      const [, url = ''] = await running.waitForStderr(STARTED, 40_000);
      return { running, url };
    }

    it('delivers after a restart the event whose delivery the crash interrupted, with the same webhook-id', async () => {
      const home = tempHome();
      cleanups.push(home.cleanup);
      const backend = await variant.fresh();
      cleanups.push(() => backend.cleanup());
      const env = {
        ...home.env,
        ...backend.env,
        CONNECTR_ENCRYPTION_KEY: newKey(),
        // A short time limit: the lease of the interrupted attempt ends soon after the restart.
        CONNECTR_WEBHOOK_TIMEOUT_MS: '500',
        CONNECTR_WEBHOOK_POLL_MS: '50',
      };
      const created = await runBin(['serve', 'keys', 'create', '--name', 'hooks', '--json'], env);
      expect(created.code, created.stderr).toBe(0);
      const key = (JSON.parse(created.stdout) as { key: string }).key;
      const receiver: Receiver = await startReceiver();
      cleanups.push(() => receiver.close());
      receiver.mode = 'slow';

      const first = await serve(env);
      const hook = await callApi(first.url, 'POST', '/api/v1/webhooks', key, { url: receiver.url });
      expect(hook.status, hook.text).toBe(201);
      receiver.secrets.push(hook.json.secret as string);
      const made = await callApi(first.url, 'POST', '/api/v1/connections', key, {
        connector_type: 'gmail',
        name: 'crash',
      });
      expect(made.status).toBe(201);
      // The delivery is in flight: the receiver holds it.
      const until = Date.now() + 10_000;
      while (receiver.requests.length === 0 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(receiver.requests).toHaveLength(1);
      const eventId = receiver.requests[0]?.id;
      first.running.child.kill('SIGKILL');
      await first.running.done;

      receiver.mode = 'ok';
      const second = await serve(env);
      const got = await receiver.waitFor((a) => a.length >= 1, 20_000);
      expect(got.map((d) => [d.id, d.type])).toEqual([[eventId, 'connection.created']]);
      expect(got[0]?.data.id).toBe(made.json.id);
      // Recorded once the receiver's answer is in: looked at until it is.
      const deliveries = async () =>
        (await callApi(second.url, 'GET', `/api/v1/webhooks/${hook.json.id as string}/deliveries`, key)).json
          .deliveries as { state: string; attempts: number }[];
      let rows = await deliveries();
      for (const stop = Date.now() + 10_000; rows[0]?.state !== 'delivered' && Date.now() < stop;)
        rows = await deliveries();
      expect(rows).toEqual([expect.objectContaining({ state: 'delivered', attempts: 2 })]);
    });
  });
}
