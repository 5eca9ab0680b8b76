/** Test certificates and a headless Chromium shared by the tests of one file. */
import { rmSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium, skipBrowser } from "../fixtures/http_browser.ts";
import { makeTestCerts, type TestCerts } from "../fixtures/http_certs.ts";

/**
 * Registers the calling file's beforeAll/afterAll hooks: fresh test certificates and (unless
 * the browser tests are skipped) Chromium, both ready when the tests run; afterwards the
 * browser is closed and the certificates' directory removed.
 */
export function certsAndBrowser(): { readonly certs: TestCerts; readonly browser: Browser | null } {
  let certs: TestCerts | null = null;
  let browser: Browser | null = null;
  beforeAll(async () => {
    certs = makeTestCerts();
    if (!skipBrowser) browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });
  return {
    get certs() {
      if (!certs) throw new Error("the test certificates are made in beforeAll");
      return certs;
    },
    get browser() {
      return browser;
    },
  };
}
