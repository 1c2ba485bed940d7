import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

/**
 * A real Chromium for the pages' tests: Debian's (`apt-get install chromium`, which .ci/run
 * does), driven by playwright-core; never a downloaded browser. Without one the browser suites
 * skip and say so, except where CONNECTR_REQUIRE_BROWSER=1 (CI), where that is a failure.
 */

export const CHROMIUM = process.env.CONNECTR_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER && process.env.CONNECTR_REQUIRE_BROWSER === '1')
  throw new Error(
    `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CONNECTR_CHROMIUM`,
  );
export const SKIP_BROWSER = HAVE_BROWSER ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)`;

/** The widths every page is checked and photographed at: a phone, a laptop. */
export const WIDTHS = [375, 1280] as const;

export interface TestBrowser {
  readonly browser: Browser;
  /** A fresh context (own cookies), 1280 px wide unless told. */
  context(options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // Chromium's own traffic (updates, sync, lookups of Google's hosts) is refused here and slows
  // every start; these flags keep it to the pages under test.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    context: (options) => browser.newContext({ viewport: { width: 1280, height: 800 }, ...options }),
    // playwright removes the profile it made in the temporary folder.
    close: () => browser.close(),
  };
}

/** Messages the page logged as errors (a CSP refusal, a failed script): a page must have none. */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly string[];
}

/**
 * axe-core's check of the page as it is now, serious and critical violations only. The script
 * is evaluated through the DevTools protocol, which the page's CSP does not govern, so the page
 * under test keeps its real policy. (@axe-core/playwright wants Node 22; this is all it does.)
 */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    interface Result {
      id: string;
      impact?: string | null;
      help: string;
      nodes: { target: unknown[] }[];
    }
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: Result[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      nodes: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Photographs the page at each width: into docs/images/<name>-<width>.png when
 * CONNECTR_UPDATE_SCREENSHOTS=1 (`npm run screenshots`), else into a temporary folder, so a
 * test run never changes the checkout. Returns the files written.
 */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  const folder =
    process.env.CONNECTR_UPDATE_SCREENSHOTS === '1'
      ? join(import.meta.dirname, '..', '..', 'docs', 'images')
      : join(tmpdir(), 'connectr-screenshots');
  mkdirSync(folder, { recursive: true });
  const original = page.viewportSize();
  const files: string[] = [];
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    const file = join(folder, `${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  if (original) await page.setViewportSize(original);
  return files;
}
