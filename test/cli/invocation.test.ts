import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { invocationOf } from '../../src/cli/invocation.js';
import { tempHome } from '../helpers/home.js';

/** Issue #7 point 15: `--curl` runs connectr again the way the user ran it. */
describe('invocationOf', () => {
  const home = tempHome();
  const script = join(home.dir, 'pkg', 'bin', 'connectr.js');
  mkdirSync(join(home.dir, 'pkg', 'bin'), { recursive: true });
  writeFileSync(script, '#!/usr/bin/env node\n');
  chmodSync(script, 0o755);
  const onPath = join(home.dir, 'usr-bin');
  mkdirSync(onPath);
  symlinkSync(script, join(onPath, 'connectr'));
  const local = join(home.dir, 'project', 'node_modules', '.bin');
  mkdirSync(local, { recursive: true });
  symlinkSync(script, join(local, 'connectr'));
  afterAll(() => {
    home.cleanup();
  });

  it('is `connectr` when PATH finds this very script', () => {
    expect(invocationOf(join(onPath, 'connectr'), { PATH: `/nowhere:${onPath}` }, '/usr/bin/node')).toBe(
      'connectr',
    );
  });

  it('is `npx connectr` under npx or from a node_modules/.bin on PATH', () => {
    expect(invocationOf(script, { npm_command: 'exec', PATH: onPath }, '/usr/bin/node')).toBe('npx connectr');
    expect(invocationOf(join(local, 'connectr'), { PATH: local }, '/usr/bin/node')).toBe('npx connectr');
  });

  it('is the absolute path of the script when PATH finds another connectr or none', () => {
    const other = join(home.dir, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'connectr'), '#!/bin/sh\n');
    chmodSync(join(other, 'connectr'), 0o755);
    expect(invocationOf(script, { PATH: `${other}:${onPath}` }, '/usr/bin/node')).toBe(script);
    expect(invocationOf(script, { PATH: '' }, '/usr/bin/node')).toBe(script);
  });

  it('runs a script that is not executable, or has spaces in its path, with node, quoted', () => {
    const spaced = join(home.dir, 'my tools', 'connectr.js');
    mkdirSync(join(home.dir, 'my tools'));
    writeFileSync(spaced, '');
    chmodSync(spaced, 0o644);
    expect(invocationOf(spaced, { PATH: '' }, '/opt/node 20/bin/node')).toBe(
      `'/opt/node 20/bin/node' '${spaced}'`,
    );
  });
});
