import { beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../../src/core/connector/model.js';
import { loadRegistry } from '../../src/core/connector/registry.js';
import { isConnectrError } from '../../src/core/errors.js';
import { checkGlobs, toolsOf } from '../../src/mcp/tools.js';

/**
 * What a caller's `--allow`/`--deny` (or `?allow=`/`?deny=`) globs cost: the daemon matches them
 * against every tool name of every connector on its one thread, so the worst glob of the allowed
 * size, as many of them as allowed, must cost milliseconds (a backtracking regular expression
 * held the daemon for seconds per glob).
 */

const MAX_GLOBS = 64;
const MAX_GLOB_LENGTH = 200;

/** The glob of the issue: `*?` eight times, then a letter no tool name ends with. */
const ISSUE_GLOB = `${'*?'.repeat(8)}Z`;
/** The same shape at the largest allowed length. */
const WORST = `${'*?'.repeat((MAX_GLOB_LENGTH - 2) / 2)}*Z`;

let connectors: Connector[];
beforeAll(async () => {
  connectors = [...(await loadRegistry()).connectors];
});

function usageError(run: () => unknown): Error {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(isConnectrError(caught) && caught.code === 'usage', String(caught)).toBe(true);
  return caught as Error;
}

describe('tool-name globs cost milliseconds whatever the caller sends', () => {
  it('the glob of the issue, and the most of the worst globs allowed, against every tool', () => {
    expect(WORST).toHaveLength(MAX_GLOB_LENGTH);
    const all = toolsOf(connectors).map((t) => t.name);
    expect(all.length).toBeGreaterThan(100);
    const hostile = [...Array.from({ length: MAX_GLOBS - 1 }, () => WORST), ISSUE_GLOB];
    const started = performance.now();
    const allowed = toolsOf(connectors, {
      allow: checkGlobs(hostile, '--allow'),
      deny: checkGlobs(hostile, '--deny'),
    });
    const denied = toolsOf(connectors, { deny: checkGlobs(hostile, '--deny') });
    const took = performance.now() - started;
    expect(allowed).toEqual([]);
    expect(denied.map((t) => t.name)).toEqual(all);
    expect(took, `${took.toFixed(1)} ms`).toBeLessThan(200);
  });

  it('the same against long names that nearly match (every glob of every shape)', () => {
    // Names that the worst globs nearly match: long, ending just short of the Z.
    const long = connectors.map((c) => ({
      ...c,
      endpoints: c.endpoints.map((e) => ({ ...e, name: `${e.name}_${'y'.repeat(100)}`.slice(0, 120) })),
    }));
    const shapes = [
      WORST,
      `${'*'.repeat(MAX_GLOB_LENGTH - 1)}Z`,
      `*${'?'.repeat(MAX_GLOB_LENGTH - 2)}Z`,
      `*${'y*'.repeat((MAX_GLOB_LENGTH - 2) / 2)}Z`,
      `*${'[a-z]*'.repeat((MAX_GLOB_LENGTH - 2) / 6)}Z`,
      // The dearest for a leftmost search: a long piece that nearly fits at every place.
      `*${'y'.repeat(60)}Z*${'?'.repeat(50)}`,
    ];
    for (const shape of shapes) {
      expect(shape.length).toBeLessThanOrEqual(MAX_GLOB_LENGTH);
      const globs = checkGlobs(
        Array.from({ length: MAX_GLOBS }, () => shape),
        '--allow',
      );
      const started = performance.now();
      expect(toolsOf(long, { allow: globs })).toEqual([]);
      const took = performance.now() - started;
      expect(took, `${shape}: ${took.toFixed(1)} ms`).toBeLessThan(200);
    }
  });

  it('more globs, or a longer one, than allowed is a usage error naming the limit', () => {
    const many = usageError(() =>
      checkGlobs(
        Array.from({ length: MAX_GLOBS + 1 }, () => 'gmail_*'),
        '--allow',
      ),
    );
    expect(many.message).toContain(`at most ${MAX_GLOBS}`);
    expect(many.message).toContain('--allow');
    const long = usageError(() => checkGlobs([`gmail_${'*'.repeat(MAX_GLOB_LENGTH)}`], '--deny'));
    expect(long.message).toContain(`at most ${MAX_GLOB_LENGTH} characters`);
    // Each alternative of a {…} is a glob of its own: the count cannot hide in braces.
    const nine = '{a,b,c,d,e,f,g,h,i}';
    const hidden = usageError(() => checkGlobs([`${nine}${nine}_*`], '--allow'));
    expect(hidden.message).toContain(`at most ${MAX_GLOBS}`);
    // At the limits, accepted.
    expect(
      checkGlobs(
        Array.from({ length: MAX_GLOBS }, () => WORST),
        '--allow',
      ),
    ).toHaveLength(MAX_GLOBS);
  });
});
