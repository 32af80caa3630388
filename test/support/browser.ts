/** A real headless Chromium (Debian's package), driven with playwright-core. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { ROOT, type startCli, waitFor } from './cli.js';
import { describeWhen } from './requirement.js';

/** Debian's package; CHROMIUM_PATH names another build of Chromium. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** Reads the URL the CLI prints on stderr ("... at http://127.0.0.1:PORT/?token=..."), token included. */
export function urlIn(stderr: string): string | null {
  return /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(stderr)?.[1] ?? null;
}

/**
 * Runs a browser suite when Debian's Chromium is installed; otherwise skips it loudly, saying what
 * to install (or fails, under CI=true).
 */
export function describeWithBrowser(name: string, suite: (browser: () => Browser) => void): void {
  describeWhen(name, existsSync(CHROMIUM), `no browser at ${CHROMIUM}`, 'install it (`sudo apt-get install chromium` on Debian/Ubuntu; .ci/run does)', () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });
    suite(() => browser!);
  });
}

/**
 * Opens the page of a CLI started with `--inspect` (or `inspect <dir>`): waits for the URL it prints,
 * opens it in a new page, and collects the page's errors. The CLI is stopped when the test ends;
 * `output()` is what it printed on stderr so far.
 */
export async function openViewer(
  browser: Browser,
  cli: ReturnType<typeof startCli>,
  { width = 1400, height = 900, timeoutMs = 15_000 }: { width?: number; height?: number; timeoutMs?: number } = {},
): Promise<{ page: Page; errors: string[]; output: () => string }> {
  onTestFinished(() => void cli.child.kill('SIGTERM'));
  let stderr = '';
  cli.child.stderr.on('data', (chunk) => (stderr += chunk));
  await waitFor(() => urlIn(stderr) !== null, 20_000, 'the viewer URL');
  const page = await browser.newPage({ viewport: { width, height } });
  page.setDefaultTimeout(timeoutMs);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(urlIn(stderr)!);
  return { page, errors, output: () => stderr };
}
