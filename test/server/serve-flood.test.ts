import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { runBin, startBin } from '../helpers/bin.js';
import { tempHome } from '../helpers/home.js';
import { seedPglite } from '../helpers/server-store.js';
import { slowClient } from '../helpers/slow-client.js';
import type { SlowClient } from '../helpers/slow-client.js';

/**
 * A flood of slow clients without any key against the real `connectr serve` (issue #21,
 * point 2): hundreds of sockets from several addresses trickling headers, or a body after the
 * 401 of a bad key, reopened as soon as they are closed, against a daemon that may open only
 * 600 files (a small host). Meanwhile `GET /health` on a fresh connection, from an address
 * outside the flood and from one inside it, must keep answering within a second.
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const STARTED = /connectr serve: listening on http:\/\/127\.0\.0\.1:(\d+) \(store: pglite/;

interface Timed {
  readonly ms: number;
  readonly status: number | string;
}

/** GET /health on a new connection from `localAddress`: how long the whole answer took, and its status or error. */
function health(port: number, localAddress: string): Promise<Timed> {
  const start = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/health', agent: false, localAddress, timeout: 3000 },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve({ ms: performance.now() - start, status: res.statusCode ?? 0 });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 3 s')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ ms: performance.now() - start, status: error.code ?? error.message });
    });
    req.end();
  });
}

/** Slow clients from each address, each reopened a second after the server closes it. */
class Flood {
  private stopped = false;
  private readonly clients = new Set<SlowClient>();
  opened = 0;

  constructor(
    private readonly port: number,
    private readonly addresses: readonly string[],
    private readonly perAddress: number,
  ) {}

  start(): void {
    for (const address of this.addresses)
      for (let i = 0; i < this.perAddress; i++) this.open(address, i % 2 === 0);
  }

  private open(address: string, slowHeaders: boolean): void {
    if (this.stopped) return;
    const c = slowClient(this.port, { localAddress: address });
    this.opened += 1;
    this.clients.add(c);
    if (slowHeaders)
      c.trickle(
        `GET /api/v1/connectors HTTP/1.1\r\nhost: 127.0.0.1\r\nx-pad: ${'a'.repeat(500)}\r\n\r\n`,
        400,
      );
    else {
      c.socket.write(
        'POST /api/v1/connections HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ck_not_a_key\r\n' +
          'content-type: application/json\r\ncontent-length: 10000000\r\n\r\n',
      );
      c.trickle('{'.repeat(1000), 400);
    }
    void c.closed.then(() => {
      this.clients.delete(c);
      setTimeout(() => {
        this.open(address, slowHeaders);
      }, 1000);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.clients) c.destroy();
    this.clients.clear();
  }
}

describe('connectr serve under a flood of slow clients without a key', () => {
  // Linux: every 127.x.y.z is this machine (the flood's several addresses), and /proc counts files.
  it.skipIf(process.platform !== 'linux')(
    'keeps answering /health within a second, from outside and inside the flood, with its open files bounded',
    async () => {
      const h = tempHome();
      cleanups.push(h.cleanup);
      seedPglite(h.dir);
      const env: Record<string, string> = {
        ...h.env,
        CONNECTR_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      };
      const running = startBin(
        [
          'serve',
          '--port',
          '0',
          '--log-level',
          'error',
          '--max-connections',
          '300',
          '--max-connections-per-address',
          '100',
        ],
        env,
        120_000,
        { fileLimit: 600 },
      );
      cleanups.push(() => running.child.kill('SIGKILL'));
      const [, port = ''] = await running.waitForStderr(STARTED, 90_000);
      const pid = running.child.pid ?? 0;
      expect((await health(Number(port), '127.0.0.1')).status).toBe(200);
      // The daemon's own files (the database, its libraries, pipes): well over a hundred.
      const ownFiles = readdirSync(`/proc/${pid}/fd`).length;

      // Six addresses, 100 sockets each: 600 in all, twice the cap, and more than the daemon may
      // open besides its own files.
      const flood = new Flood(
        Number(port),
        ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'],
        100,
      );
      cleanups.push(() => {
        flood.stop();
      });
      flood.start();
      await new Promise((r) => setTimeout(r, 1500));

      const answers: { from: string; answer: Timed }[] = [];
      let mostFiles = 0;
      for (let round = 0; round < 15; round++) {
        const [outside, inside] = await Promise.all([
          health(Number(port), '127.0.0.1'),
          health(Number(port), '127.0.0.2'),
        ]);
        answers.push({ from: '127.0.0.1', answer: outside }, { from: '127.0.0.2', answer: inside });
        mostFiles = Math.max(mostFiles, readdirSync(`/proc/${pid}/fd`).length);
        await new Promise((r) => setTimeout(r, 200));
      }
      flood.stop();

      // The flood was real: far more connections were opened than the caps allow at once.
      expect(flood.opened).toBeGreaterThan(600);
      const slow = answers.filter(({ answer }) => answer.status !== 200 || answer.ms > 1000);
      expect(slow).toEqual([]);
      // Client connections at most the cap (300, and briefly one being refused), plus its own files.
      expect(mostFiles).toBeLessThan(ownFiles + 300 + 20);

      // It stops cleanly, in bounded time, after the flood.
      running.child.kill('SIGTERM');
      const result = await running.done;
      expect(result.code).toBe(0);
    },
    150_000,
  );

  it('refuses a cap that is not a count before opening anything: a flag (exit 2), a variable named in the error', async () => {
    const h = tempHome();
    cleanups.push(h.cleanup);
    const flag = await runBin(['serve', '--port', '0', '--max-connections', '0'], h.env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--max-connections');
    const perAddress = await runBin(['serve', '--port', '0', '--max-connections-per-address', 'many'], h.env);
    expect(perAddress.code).toBe(2);
    const variable = await runBin(['serve', '--port', '0'], { ...h.env, CONNECTR_MAX_CONNECTIONS: '10k' });
    expect(variable.code).toBe(1);
    expect(variable.stderr).toContain('CONNECTR_MAX_CONNECTIONS must be a whole number');
    expect(variable.stderr).not.toContain('listening');
  });
});
