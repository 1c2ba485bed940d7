import fs from 'node:fs';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LOG_BATCH_BYTES,
  LOG_FLUSH_EVERY_MS,
  batchedLog,
} from '../../../src/cli/commands/serve/log-stream.js';

/**
 * `connectr serve`'s log on its own stderr (src/cli/commands/serve/log-stream.ts): lines are
 * written in batches, not one system call (and thread-pool hop) per request, and none is held
 * longer than LOG_FLUSH_EVERY_MS or past the server's stop.
 */

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logFile(): { fd: number; text: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'connectr-log-'));
  dirs.push(dir);
  const path = join(dir, 'serve.log');
  const fd = openSync(path, 'w');
  return { fd, text: () => readFileSync(path, 'utf8') };
}

const line = (i: number): string => `${JSON.stringify({ level: 30, msg: 'request completed', i })}\n`;

describe('the server log on stderr', () => {
  it('writes a burst of lines as one batch, within the flush period', async () => {
    const writes = vi.spyOn(fs, 'write');
    const file = logFile();
    const log = batchedLog(file.fd);
    const lines = Array.from({ length: 20 }, (_, i) => line(i));
    expect(lines.join('').length).toBeLessThan(LOG_BATCH_BYTES);
    for (const text of lines) log.stream.write(text);
    // Nothing written per line...
    expect(writes).not.toHaveBeenCalled();
    // ...and every line out once the period has passed, in one write.
    await expect.poll(file.text, { timeout: LOG_FLUSH_EVERY_MS * 20, interval: 10 }).toBe(lines.join(''));
    expect(writes).toHaveBeenCalledTimes(1);
    log.flush();
  });

  it('writes at once what fills a batch, and everything held when the server stops', async () => {
    const file = logFile();
    const log = batchedLog(file.fd);
    let written = '';
    for (let i = 0; written.length <= LOG_BATCH_BYTES; i++) {
      written += line(i);
      log.stream.write(line(i));
    }
    await expect.poll(file.text, { timeout: 5000, interval: 5 }).toBe(written);
    log.stream.write(line(-1));
    log.flush();
    expect(file.text()).toBe(written + line(-1));
  });
});
