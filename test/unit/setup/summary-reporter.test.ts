import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestModule } from 'vitest/node';
import SummaryReporter from '../../setup/summary-reporter.js';

/**
 * The `tests: N passed, N failed, N skipped` line CI reads: a file that failed outside its
 * tests (an afterAll assertion, a file that does not load) must count as a failure, or a red
 * run reads as green.
 */

type State = 'passed' | 'failed' | 'skipped';

function module(state: 'passed' | 'failed', tests: readonly State[]): TestModule {
  const fake = {
    state: () => state,
    children: { allTests: () => tests.map((s) => ({ result: () => ({ state: s }) }))[Symbol.iterator]() },
  };
  return fake as unknown as TestModule;
}

function summary(modules: readonly TestModule[], unhandled: readonly unknown[] = []): string {
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    new SummaryReporter().onTestRunEnd(modules, unhandled);
  } finally {
    write.mockRestore();
  }
  return out.trim();
}

describe('the summary line', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('counts each test by its state, and unhandled errors as failures', () => {
    expect(
      summary(
        [module('failed', ['passed', 'failed', 'skipped']), module('passed', ['passed'])],
        [new Error('x')],
      ),
    ).toBe('tests: 2 passed, 2 failed, 1 skipped');
  });

  it('counts a file that failed to load', () => {
    expect(summary([module('failed', [])])).toBe('tests: 0 passed, 1 failed, 0 skipped');
  });

  it('counts a file whose tests passed but whose afterAll failed', () => {
    expect(summary([module('failed', ['passed', 'passed'])])).toBe('tests: 2 passed, 1 failed, 0 skipped');
  });
});
