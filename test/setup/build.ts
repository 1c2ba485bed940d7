import { execFileSync } from 'node:child_process';

/**
 * Tests that run the real `connectr` binary need dist/ to match the sources under test, so the
 * suite builds once before it starts (a few seconds) instead of trusting a stale build.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  // The rest of `npm run build`: the server's migrations, the built-in connectors validated into
  // dist/connectors.json, and the start-up bundle the binary runs.
  execFileSync(process.execPath, ['scripts/copy-files.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/prebuild-connectors.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/bundle.mjs'], { stdio: 'inherit' });
}
