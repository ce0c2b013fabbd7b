/** Opens an HTML file in headless Chromium (Debian's /usr/bin/chromium) and reads it back. */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export async function launchBrowser(): Promise<Browser> {
  if (!chromiumAvailable())
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface LoadedReport {
  page: Page;
  consoleErrors: string[];
  /** Requests other than the file itself (a self-contained report makes none). */
  externalRequests: string[];
  text(testId: string): Promise<string>;
  all(testId: string): Promise<string[]>;
}

export async function openReport(browser: Browser, file: string): Promise<LoadedReport> {
  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  const externalRequests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  page.on('request', (request) => {
    if (!request.url().startsWith('file://')) externalRequests.push(request.url());
  });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return {
    page,
    consoleErrors,
    externalRequests,
    text: async (testId) => (await page.getByTestId(testId).first().textContent())?.trim() ?? '',
    all: async (testId) => (await page.getByTestId(testId).allTextContents()).map((t) => t.trim()),
  };
}
