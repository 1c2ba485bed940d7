/**
 * Starts the repository's SDK harness (test/sdk/harness.ts: a real `connectr serve` on PGlite
 * with the Gmail, Dropbox and OneDrive emulators) once for the whole run, hands its JSON line
 * to the tests (`inject('harness')`), and stops it by closing its stdin.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { Harness } from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'sdk', 'harness.ts')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('the SDK harness did not start within 120 s')), 120_000);
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf('\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolve(text.slice(0, end));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the SDK harness exited with ${String(code)} before it was ready`));
    });
  });
  project.provide('harness', JSON.parse(line) as Harness);
  return async () => {
    child.stdin.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
  };
}
