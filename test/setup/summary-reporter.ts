import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with a plain `tests: N passed, N failed, N skipped` line, which CI reads
 * whatever the test runner; vitest's own summary stays above it for people.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[], unhandledErrors: readonly unknown[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      failed += failedHere;
      // A file that failed outside its tests (it did not load, or a hook such as afterAll threw)
      // failed too, though none of its tests did.
      if (module.state() === 'failed' && failedHere === 0) failed++;
    }
    failed += unhandledErrors.length;
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
