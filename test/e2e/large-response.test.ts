import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { startFaultyServer } from '../helpers/faulty-server.js';
import type { FaultyServer } from '../helpers/faulty-server.js';
import { tempHome } from '../helpers/home.js';

/**
 * A response far larger than anything connectr may hold in memory (issue #7, point 16): a
 * 300 MB JSON body is streamed to stdout, and under --all a page that large is refused, both
 * with the process's memory growing by far less than the body.
 */
const MB = 1024 * 1024;
const BODY_BYTES = 300 * MB;
const ALLOWANCE = 100 * MB;

/** `{"messages":[{"id":"…"},…]}` of about `size` bytes, produced as the reader asks. */
function bigJson(size: number): { stream: Readable; length: number } {
  const item = `{"id":"${'a'.repeat(54)}"},`;
  const chunk = item.repeat(Math.floor((64 * 1024) / item.length));
  const count = Math.ceil(size / chunk.length);
  const head = '{"messages":[';
  const tail = '{"id":"end"}]}';
  function* parts(): Generator<string> {
    yield head;
    for (let i = 0; i < count; i++) yield chunk;
    yield tail;
  }
  return { stream: Readable.from(parts()), length: head.length + count * chunk.length + tail.length };
}

/** Runs the binary, counting (not keeping) stdout, and samples its RSS from /proc. */
function measure(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdoutBytes: number; stderr: string; peak: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdoutBytes = 0;
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d: Buffer) => (stdoutBytes += d.length));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const sampler = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8');
        peak = Math.max(peak, Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
      } catch {
        // Exited.
      }
    }, 10);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`connectr ${args.join(' ')} did not finish in time`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({ code, stdoutBytes, stderr, peak });
    });
  });
}

describe('large responses', () => {
  const home = tempHome();
  let server: FaultyServer;
  let env: Record<string, string>;
  let baseline = 0;
  let served = 0;
  beforeAll(async () => {
    server = await startFaultyServer();
    env = { ...home.env, CONNECTR_GMAIL_API_BASE_URL: server.url, CONNECTR_GMAIL_TOKEN: 't' };
    // The same command with a small answer: what connectr takes anyway.
    server.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"messages":[{"id":"1"}]}');
    });
    const small = await measure(['call', 'gmail', 'list_messages'], env);
    expect(small.code).toBe(0);
    baseline = small.peak;
    server.handle((_req, res) => {
      const body = bigJson(BODY_BYTES);
      served = 0;
      body.stream.on('data', (d: string) => (served += d.length));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      body.stream.pipe(res);
      res.on('close', () => body.stream.destroy());
    });
  }, 60_000);
  afterAll(async () => {
    await server.close();
    home.cleanup();
  });

  it('a 300 MB JSON body is streamed to stdout as it comes', async () => {
    const r = await measure(['call', 'gmail', 'list_messages'], env);
    expect(r.peak - baseline).toBeLessThan(ALLOWANCE);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdoutBytes).toBe(bigJson(BODY_BYTES).length);
  }, 90_000);

  it('under --all, a 300 MB page is refused, not read into memory', async () => {
    const r = await measure(['call', 'gmail', 'list_messages', '--all'], env);
    expect(r.stderr).toContain('more than 32 MiB');
    expect(r.code).toBe(4);
    expect(r.peak - baseline).toBeLessThan(ALLOWANCE);
    expect(served).toBeLessThan(BODY_BYTES / 2);
  }, 90_000);
});
