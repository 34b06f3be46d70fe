/**
 * A real headless Chromium (Debian's `chromium`) driven by playwright-core, for the HTML report. Without it
 * the suites skip with an install hint, except under CI=true, where a missing browser fails the run.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_INSTALL_HINT = "apt-get install -y chromium";

/** Nothing in the background may reach the network, so that any request seen is the page's own. */
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function describeWithChromium(name: string, fn: () => void): void {
  if (existsSync(CHROMIUM)) describe(name, fn);
  else if (process.env.CI === "true") {
    describe(name, () => {
      test("chromium is installed (required under CI=true)", () => {
        throw new Error(`${CHROMIUM} was not found and CI=true; install it: ${CHROMIUM_INSTALL_HINT}`);
      });
    });
  } else {
    console.warn(`Skipping "${name}": ${CHROMIUM} was not found; install it: ${CHROMIUM_INSTALL_HINT}`);
    describe.skip(`${name} [skipped: ${CHROMIUM} not found; install it: ${CHROMIUM_INSTALL_HINT}]`, fn);
  }
}

/** Starts Chromium with a fresh profile under `dir`; close the context to stop it. */
export function launchChromium(dir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 960, height: 900 },
  });
}
