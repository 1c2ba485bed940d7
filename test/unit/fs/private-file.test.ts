import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writePrivateFile } from '../../../src/core/fs/files.js';

describe('writePrivateFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'connectr-private-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the file 0600 in a folder made 0700, replacing what was there, and leaves no temporary file', async () => {
    const target = join(dir, 'home', 'cache', 'state.json');
    await writePrivateFile(target, '{"a":1}');
    await writePrivateFile(target, '{"a":2}');
    expect(readFileSync(target, 'utf8')).toBe('{"a":2}');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'home', 'cache')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dir, 'home', 'cache'))).toEqual(['state.json']);
  });

  it('many writes at once from one process each land whole, under names of their own', async () => {
    const target = join(dir, 'state.json');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writePrivateFile(target, `{"n":${i}}`)));
    expect(readFileSync(target, 'utf8')).toMatch(/^\{"n":\d+\}$/);
    expect(readdirSync(dir)).toEqual(['state.json']);
  });

  it('when the file cannot take the place of the target, the old content stays and the temporary file goes', async () => {
    const target = join(dir, 'state.json');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'kept');
    await expect(writePrivateFile(target, 'new')).rejects.toThrow();
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('kept');
    expect(readdirSync(dir)).toEqual(['state.json']);
  });
});
