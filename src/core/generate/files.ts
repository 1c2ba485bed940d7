import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConnectrError, messageOf } from '../errors.js';
import type { GeneratedFile } from './render.js';

/**
 * Generated files on disk: written all or none (each to a temporary file beside its place,
 * renamed into place only once every one is written), or compared with what is there
 * (`--check`).
 */

export interface Drift {
  /** Files that would be created. */
  readonly missing: readonly string[];
  /** Files whose content differs from what would be generated. */
  readonly changed: readonly string[];
}

export function checkFiles(root: string, files: readonly GeneratedFile[]): Drift {
  const missing: string[] = [];
  const changed: string[] = [];
  for (const file of files) {
    const path = join(root, file.path);
    if (!existsSync(path)) missing.push(path);
    else if (readFileSync(path, 'utf8') !== file.content) changed.push(path);
  }
  return { missing, changed };
}

/** Writes every file, or none: a failure removes what it wrote and names the file and the fix. */
export function writeFiles(root: string, files: readonly GeneratedFile[]): string[] {
  const staged: { temp: string; path: string }[] = [];
  const suffix = `.connectr-${process.pid}.tmp`;
  try {
    for (const file of files) {
      const path = join(root, file.path);
      const temp = `${path}${suffix}`;
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(temp, file.content, { mode: 0o644 });
      staged.push({ temp, path });
    }
  } catch (error) {
    for (const { temp } of staged) rmSync(temp, { force: true });
    const where = (error as NodeJS.ErrnoException).path ?? root;
    throw new ConnectrError('invalid_input', `cannot write the generated files: ${messageOf(error)}`, {
      hint: `make ${where} writable, or choose another --out`,
      cause: error,
    });
  }
  let done = 0;
  try {
    for (const { temp, path } of staged) {
      renameSync(temp, path);
      done++;
    }
  } catch (error) {
    // Every file is whole: those before are new, this one and the rest are as they were.
    for (const { temp } of staged.slice(done)) rmSync(temp, { force: true });
    throw new ConnectrError(
      'invalid_input',
      `cannot write ${staged[done]?.path ?? root}: ${messageOf(error)}`,
      {
        hint: `${done} of ${staged.length} file(s) were replaced; make the path a writable file location and run again`,
        cause: error,
      },
    );
  }
  return staged.map(({ path }) => path);
}
