/** A real headless Chromium (Debian's package), driven with playwright-core. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { ROOT } from './cli.js';
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
