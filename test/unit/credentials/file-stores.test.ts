import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { EncryptedFileStore } from '../../../src/core/credentials/encrypted-file.js';
import { JsonDb } from '../../../src/core/fs/json-db.js';
import { parseDuration } from '../../../src/core/duration.js';
import { tempHome } from '../../helpers/home.js';

describe('encrypted file store', () => {
  let home: ReturnType<typeof tempHome>;
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => {
    home.cleanup();
  });
  const store = (passphrase: string): EncryptedFileStore =>
    new EncryptedFileStore(join(home.dir, 'vault.json'), join(home.dir, 'locks'), () =>
      Promise.resolve(passphrase),
    );

  it('round-trips secrets, keeping none of them readable in the file', async () => {
    const vault = store('passphrase one');
    await vault.set('connectr:gmail', 'default', 'secret-token-1');
    await vault.set('connectr:gmail', 'work', 'secret-token-2');
    expect(await vault.get('connectr:gmail', 'default')).toBe('secret-token-1');
    expect(await store('passphrase one').get('connectr:gmail', 'work')).toBe('secret-token-2');
    expect(readFileSync(join(home.dir, 'vault.json'), 'utf8')).not.toMatch(/secret-token/);
    expect(await vault.delete('connectr:gmail', 'work')).toBe(true);
    expect(await vault.get('connectr:gmail', 'work')).toBeNull();
  });

  it('tells a wrong passphrase apart from damage, and detects a sealed value moved to another entry', async () => {
    await store('right passphrase').set('s', 'a', 'value-a');
    await store('right passphrase').set('s', 'b', 'value-b');
    await expect(store('wrong passphrase').get('s', 'a')).rejects.toMatchObject({ code: 'auth_required' });
    const path = join(home.dir, 'vault.json');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { entries: Record<string, unknown> };
    const keys = Object.keys(file.entries);
    file.entries[keys[0] ?? ''] = file.entries[keys[1] ?? ''];
    writeFileSync(path, JSON.stringify(file));
    await expect(store('right passphrase').get('s', 'a')).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('was altered or damaged') as unknown,
    });
  });
});

describe('JSON databases', () => {
  const shape = {
    schema: (zod: typeof z) => zod.object({ items: zod.array(zod.number()) }),
    what: 'a list of numbers',
  };
  it('lose no update when many are made at once', async () => {
    const home = tempHome();
    try {
      const db = new JsonDb<{ items: number[] }>(
        join(home.dir, 'db.json'),
        join(home.dir, 'locks'),
        () => ({ items: [] }),
        shape,
      );
      await Promise.all(Array.from({ length: 25 }, (_, i) => db.update((d) => void d.items.push(i))));
      const fresh = new JsonDb<{ items: number[] }>(
        join(home.dir, 'db.json'),
        join(home.dir, 'locks'),
        () => ({ items: [] }),
        shape,
      );
      expect((await fresh.read()).items.sort((a, b) => a - b)).toEqual(
        Array.from({ length: 25 }, (_, i) => i),
      );
    } finally {
      home.cleanup();
    }
  });

  it('refuse a FIFO or a folder in place of the file, instead of waiting on it forever', async () => {
    const home = tempHome();
    try {
      const fifo = join(home.dir, 'fifo.json');
      execFileSync('mkfifo', [fifo]);
      const folder = join(home.dir, 'folder.json');
      mkdirSync(folder);
      for (const path of [fifo, folder]) {
        const db = new JsonDb<{ items: number[] }>(
          path,
          join(home.dir, 'locks'),
          () => ({ items: [] }),
          shape,
        );
        await expect(db.read()).rejects.toMatchObject({
          code: 'invalid_input',
          message: `${path} is not a regular file, but connectr keeps its data in it`,
        });
      }
    } finally {
      home.cleanup();
    }
  }, 10_000);
});

describe('durations', () => {
  it('reads seconds, minutes, hours and milliseconds', () => {
    expect([
      parseDuration('90', 'x'),
      parseDuration('90s', 'x'),
      parseDuration('5m', 'x'),
      parseDuration('1h', 'x'),
      parseDuration('250ms', 'x'),
    ]).toEqual([90_000, 90_000, 300_000, 3_600_000, 250]);
    expect(() => parseDuration('soon', '--timeout')).toThrow('--timeout "soon" is not a duration');
  });
});
