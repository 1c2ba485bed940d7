import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConnector } from '../../../src/core/connector/load.js';
import { formatProblem } from '../../../src/core/connector/problem.js';
import {
  loadConnectorFile,
  loadRegistry,
  MAX_CONNECTOR_FILE_BYTES,
} from '../../../src/core/connector/registry.js';
import { tempHome } from '../../helpers/home.js';

const head = (name: string, description = 'Test.'): string => `name: ${name}
display_name: ${name}
version: 1
docs_url: https://example.com/docs
description: ${description}
hosts:
  api: https://api.example.com
auth:
  type: none
`;

/** A file of `n` endpoints that all share one anchored params block, as YAML users write. */
function anchored(n: number): string {
  let text = `${head('anchors')}endpoints:
  get_0:
    summary: Endpoint 0.
    method: GET
    path: /items/0
    params: &common
      page: { in: query, type: integer }
      fields: { in: query }
`;
  for (let i = 1; i < n; i++)
    text += `  get_${i}:\n    summary: Endpoint ${i}.\n    method: GET\n    path: /items/${i}\n    params: *common\n`;
  return text;
}

describe('YAML limits of connector files', () => {
  let home: ReturnType<typeof tempHome>;
  let userDir: string;
  beforeEach(() => {
    home = tempHome();
    userDir = join(home.dir, 'connectors');
    mkdirSync(userDir);
  });
  afterEach(() => {
    home.cleanup();
  });

  it('loads 500 endpoints that reuse one anchor (yaml stops at 100 aliases by default)', () => {
    const result = parseConnector(anchored(500), { file: 'anchors.yaml', origin: 'extra' });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
    if (result.ok) {
      expect(result.connector.endpoints).toHaveLength(500);
      expect(result.connector.endpoints[499]?.params.map((p) => p.key)).toEqual(['page', 'fields']);
    }
  });

  it('refuses an alias bomb quickly, with the place of the alias', () => {
    // Nine levels of ten: 10^9 values once expanded.
    let text = `${head('bomb')}l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n`;
    for (let i = 1; i <= 9; i++)
      text += `l${i}: &l${i} [${Array(10)
        .fill(`*l${i - 1}`)
        .join(', ')}]\n`;
    text += 'endpoints: *l9\n';
    const started = Date.now();
    const result = parseConnector(text, { file: 'bomb.yaml', origin: 'extra' });
    // Not a speed target (those live in bench/): expanding it would take minutes and gigabytes;
    // refusing takes well under a second, so a loaded machine still passes.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      'bomb.yaml:15:45: invalid YAML: the aliases expand this file to more than 1,000,000 values (an alias bomb?); repeat fewer nodes through anchors',
    ]);
  });

  it('locates thousands of problems in a 4 MB file in linear time', () => {
    // 25,000 params with a bad location in one endpoint, under a long description. Locating
    // each problem by scanning the earlier keys took 10 times as long as reading a valid file of
    // the same size (21 s of CPU against 2.5 s); now about the same. The bound is relative to
    // that valid file, read in the same run, so a busy machine does not fail the test.
    const pad = '  A long description of the API, written out to make the file large.\n'.repeat(50_000);
    const start = `${head('wide', `|\n${pad}`)}endpoints:\n`;
    let wide = `${start}  one:\n    summary: One.\n    method: GET\n    path: /one\n    params:\n`;
    for (let i = 0; i < 25_000; i++) wide += `      p${i}: { in: x }\n`;
    let valid = start;
    for (let e = 0; e < 2500; e++) {
      valid += `  e${e}:\n    summary: One.\n    method: GET\n    path: /one\n    params:\n`;
      for (let i = 0; i < 10; i++) valid += `      p${i}: { in: query }\n`;
    }
    expect(wide.length).toBeGreaterThan(4_000_000);
    expect(wide.length).toBeLessThan(MAX_CONNECTOR_FILE_BYTES);
    const timed = (text: string): { ms: number; problems: string[] } => {
      const started = performance.now();
      const result = parseConnector(text, { file: 'wide.yaml', origin: 'extra' });
      return {
        ms: performance.now() - started,
        problems: result.ok ? [] : result.problems.map(formatProblem),
      };
    };
    timed(anchored(10));
    const baseline = timed(valid);
    expect(baseline.problems).toEqual([]);
    const problems = timed(wide);
    expect(problems.problems).toHaveLength(25_000);
    expect(problems.problems[24_999]).toMatch(
      /^wide\.yaml:\d+:21: endpoints\.one\.params\.p24999\.in: expected one of /,
    );
    expect(problems.ms).toBeLessThan(3 * baseline.ms + 1000);
  }, 120_000);

  it('refuses a file over 5 MB before reading it, naming the limit', async () => {
    const file = join(userDir, 'huge.yaml');
    writeFileSync(file, `${head('huge')}# ${'x'.repeat(MAX_CONNECTOR_FILE_BYTES)}\n`);
    const result = await loadConnectorFile(file, 'user');
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      `${file}:1:1: the file is 5 MB; connector files may be at most 5 MB`,
    ]);
  });

  it('skips a FIFO named like a connector file instead of waiting on it', async () => {
    execFileSync('mkfifo', [join(userDir, 'pipe.yaml')]);
    const registry = await loadRegistry({ userDir });
    expect(registry.connectors.map((c) => c.name)).toEqual([
      'dropbox',
      'gcal',
      'gdrive',
      'gmail',
      'onedrive',
    ]);
    expect(registry.invalid.map((f) => f.problems.map(formatProblem))).toEqual([
      [`${join(userDir, 'pipe.yaml')}:1:1: not a regular file; connector files are .yaml files`],
    ]);
  });

  it('reports every YAML failure per file and loads the other files', async () => {
    writeFileSync(join(userDir, 'a-unresolved.yaml'), `${head('a')}endpoints: *nowhere\n`);
    writeFileSync(join(userDir, 'b-anchors.yaml'), anchored(300));
    writeFileSync(join(userDir, 'c-deep.yaml'), `${head('c')}endpoints: ${'['.repeat(50_000)}\n`);
    const registry = await loadRegistry({ userDir });
    expect(registry.connectors.map((c) => c.name)).toEqual([
      'anchors',
      'dropbox',
      'gcal',
      'gdrive',
      'gmail',
      'onedrive',
    ]);
    expect(registry.invalid.map((f) => f.file)).toEqual([
      join(userDir, 'a-unresolved.yaml'),
      join(userDir, 'c-deep.yaml'),
    ]);
    expect(registry.invalid[0]?.problems.map(formatProblem)).toEqual([
      `${join(userDir, 'a-unresolved.yaml')}:10:12: invalid YAML: alias *nowhere names no anchor defined before it (&nowhere)`,
    ]);
    expect(registry.invalid[1]?.problems[0]?.message).toMatch(/^invalid YAML: /);
  });
});
