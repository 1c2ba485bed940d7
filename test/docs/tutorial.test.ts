import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/bin.js';
import { freePort } from '../helpers/net.js';

/**
 * docs/tutorial.md, followed as a new user would: its marked blocks in order, by bash, with the
 * real binary as `connectr` on PATH, in a throw-away HOME, against the tutorial's own API and a
 * real `connectr serve` on free ports. The markers (HTML comments, invisible on GitHub):
 *
 *   <!-- tutorial: run -->         the next block runs in "the first terminal", under a pseudo
 *                                  terminal (what a user sees); it must exit 0
 *   <!-- tutorial: start -->       the next block runs in "another terminal" until the end
 *   <!-- tutorial: save PATH -->   the next block is saved as PATH (expanded by the shell)
 *   <!-- tutorial: output -->      the next block is what the block before printed: its lines
 *                                  appear in that order (others, such as a warning, may come
 *                                  between). `…` stands for any text; `cnr_…` or `conn_…` for
 *                                  one word, and the same text in a later block is replaced by
 *                                  the word it stood for, as the user pastes the value shown.
 *
 * The ports of the tutorial (8787, 5000) are replaced by free ones in every block.
 */

const root = join(import.meta.dirname, '../..');
const markdown = readFileSync(join(root, 'docs/tutorial.md'), 'utf8');

interface Step {
  readonly kind: 'run' | 'start' | 'save';
  readonly text: string;
  readonly path?: string;
  readonly output?: string;
}

/** The marked blocks of the tutorial, each with the output block that follows it. */
function steps(text: string): Step[] {
  const found: Step[] = [];
  const marked = /<!-- tutorial: (run|start|save|output)(?: ([^>]*?))? -->\n\n```[^\n]*\n([\s\S]*?)^```$/gm;
  for (const m of text.matchAll(marked)) {
    const [, kind = '', arg, body = ''] = m;
    if (kind === 'output') {
      const last = found.pop();
      if (!last || last.kind === 'save' || last.output !== undefined)
        throw new Error(`stray output: ${body}`);
      found.push({ ...last, output: body });
    } else if (kind === 'save') {
      found.push({ kind, text: body, path: arg ?? '' });
    } else {
      found.push({ kind: kind as 'run' | 'start', text: body });
    }
  }
  return found;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A shown line as a pattern: `word_…` captures one word, a lone `…` matches anything. */
function linePattern(line: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const parts = line.split(/([a-z]+_…|…)/);
  const source = parts
    .map((part, i) => {
      if (i % 2 === 0) return escape(part);
      if (part === '…') return '.*?';
      names.push(part);
      return `(${escape(part.slice(0, -1))}[A-Za-z0-9_-]+)`;
    })
    .join('');
  return { pattern: new RegExp(`^${source}$`), names };
}

/** Checks that the shown lines appear in order in `actual`; returns what `word_…` stood for. */
function matchOutput(shown: string, actual: string, values: Map<string, string>): void {
  const lines = actual.split('\n').map((l) => l.trimEnd());
  let at = 0;
  for (const line of shown.replace(/\n$/, '').split('\n')) {
    const { pattern, names } = linePattern(line.trimEnd());
    let match: RegExpExecArray | null = null;
    while (at < lines.length && !(match = pattern.exec(lines[at] ?? ''))) at += 1;
    expect(match, `the tutorial shows\n  ${line}\nbut this was printed:\n${actual}`).not.toBeNull();
    names.forEach((name, i) => values.set(name, match?.[i + 1] ?? ''));
    at += 1;
  }
}

describe('docs/tutorial.md', () => {
  const dir = mkdtempSync(join(tmpdir(), 'connectr-tutorial-'));
  const home = join(dir, 'home');
  const bin = join(dir, 'bin');
  mkdirSync(home);
  mkdirSync(bin);
  // `connectr` as `npm link` would give it: the real binary.
  writeFileSync(join(bin, 'connectr'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
  chmodSync(join(bin, 'connectr'), 0o755);
  const state = join(dir, 'state.sh');
  writeFileSync(state, '');
  const env: Record<string, string> = {
    HOME: home,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    TERM: 'xterm',
    NO_COLOR: '1',
    // The private test keychain when there is one (test/setup/keychain.ts); else the encrypted
    // file, with the passphrase the tutorial says to set where there is no keychain.
    DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? '',
    CONNECTR_VAULT_PASSPHRASE: 'tutorial passphrase',
  };
  const started: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of started) {
      if (child.exitCode !== null || child.pid === undefined) continue;
      const group = -child.pid;
      const signal = (name: NodeJS.Signals): void => {
        try {
          process.kill(group, name);
        } catch {
          // The group is gone already.
        }
      };
      const exited = new Promise((resolve) => child.once('exit', resolve));
      signal('SIGTERM');
      const killed = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000, false))]);
      if (killed === false) signal('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  /** A block as bash runs it: with the environment the blocks before it exported. */
  function script(text: string, n: number): string {
    const file = join(dir, `block-${n}.sh`);
    writeFileSync(file, `. '${state}'\n${text}\nstatus=$?\nexport -p > '${state}'\nexit $status\n`);
    return file;
  }

  it('runs as written, and prints what it shows', { timeout: 300_000 }, async () => {
    const all = steps(markdown);
    expect(all.map((s) => s.kind)).toContain('start');
    expect(all.filter((s) => s.kind === 'run').length).toBeGreaterThanOrEqual(10);
    const ports = new Map([
      ['8787', String(await freePort())],
      ['5000', String(await freePort())],
    ]);
    const values = new Map<string, string>();
    const fill = (text: string): string => {
      let out = text;
      for (const [from, to] of ports) out = out.replaceAll(from, to);
      return out;
    };
    const paste = (text: string): string => {
      let out = fill(text);
      for (const [placeholder, value] of values) out = out.replaceAll(placeholder, value);
      return out;
    };

    for (const [n, step] of all.entries()) {
      if (step.kind === 'save') {
        const path = spawnSync('bash', ['-c', `. '${state}'; printf %s ${step.path ?? ''}`], {
          env,
          encoding: 'utf8',
        });
        writeFileSync(path.stdout, fill(step.text));
      } else if (step.kind === 'run') {
        // Under a pseudo-terminal (script(1)), as the user sees it; bounded in time.
        const r = spawnSync('script', ['-qec', `bash ${script(paste(step.text), n)}`, '/dev/null'], {
          cwd: root,
          env,
          encoding: 'utf8',
          timeout: 120_000,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const printed = r.stdout.replace(/\r/g, '');
        expect(r.status, `${step.text}\nprinted:\n${printed}${r.stderr}`).toBe(0);
        if (step.output !== undefined) matchOutput(fill(step.output), printed, values);
      } else {
        // Another terminal: runs until the end of the test; its first lines are awaited.
        const child = spawn('bash', [script(paste(step.text), n)], {
          cwd: root,
          env,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        started.push(child);
        let printed = '';
        child.stdout.on('data', (d: Buffer) => (printed += d.toString()));
        child.stderr.on('data', (d: Buffer) => (printed += d.toString()));
        const expected = fill(step.output ?? '').replace(/\n$/, '');
        const deadline = Date.now() + 120_000;
        while (!expected.split('\n').every((line) => printed.includes(line.replace(/…/g, '')))) {
          expect(child.exitCode, `${step.text} stopped:\n${printed}`).toBeNull();
          expect(Date.now() < deadline, `${step.text} did not print\n${expected}\nbut:\n${printed}`).toBe(
            true,
          );
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        matchOutput(expected, printed, values);
      }
    }
  });
});
