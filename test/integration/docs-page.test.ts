import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_TITLE } from "../../lib/openapi.ts";
import { routes } from "../../lib/routes/index.ts";
import { apiUrl } from "../support/http.ts";

/**
 * The docs page in a real browser: Debian's chromium (installed by
 * scripts/ensure-chromium.sh) driven by playwright-core. The page must render the
 * reference from the project's own files, with its CSP in force, without a single
 * request leaving this API, and its try-it client must reach the API.
 */
const CHROMIUM = "/usr/bin/chromium";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const shots = join(root, "test-results");

/** The section to check: Payments once the ledger rows are in the table. */
const TAG = routes.some((r) => r.tags.includes("Payments")) ? "Payments" : "System";
const TAG_ROUTES = routes.filter((r) => r.tags.includes(TAG));

let context: BrowserContext;
let page: Page;
let userDataDir: string;
const external: string[] = [];
const failed: string[] = [];
const cspViolations: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (as root it runs apt-get install -y chromium)`,
    );
  }
  userDataDir = mkdtempSync(join(tmpdir(), "micropay-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const origin = new URL(apiUrl()).origin;
  context.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith("data:") && new URL(url).origin !== origin) external.push(url);
  });
  context.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
  });
  page = await context.newPage();
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) {
      cspViolations.push(message.text());
    }
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe("GET /docs in chromium", () => {
  it(`renders the reference with the ${TAG} section, offline and within its CSP`, async () => {
    await page.goto(`${apiUrl()}/docs`);
    await expect
      .poll(() => page.getByRole("heading", { name: API_TITLE }).first().isVisible(), {
        timeout: 30_000,
      })
      .toBe(true);

    await page.goto(`${apiUrl()}/docs#tag/${TAG.toLowerCase()}`);
    const section = page.getByRole("heading", { name: TAG, exact: true }).first();
    await section.waitFor({ state: "visible", timeout: 15_000 });
    // Every operation of the section is listed, by its summary from the route table.
    for (const route of TAG_ROUTES) {
      await expect
        .poll(() => page.getByText(route.summary, { exact: true }).count(), { timeout: 10_000 })
        .toBeGreaterThan(0);
    }
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, "docs.png") });

    expect(external).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(failed).toEqual([]);
  }, 90_000);

  it("shows the MFA login flow and dual control in its introduction", async () => {
    await page.goto(`${apiUrl()}/docs`);
    for (const name of ["Logging in with a second factor", "Dual control"]) {
      await expect
        .poll(() => page.getByRole("heading", { name, exact: true }).first().isVisible(), {
          timeout: 15_000,
        })
        .toBe(true);
    }
    for (const text of ["POST /v1/auth/mfa {mfaToken, code}", "403 same_approver"]) {
      await expect.poll(() => page.getByText(text).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    }
  }, 60_000);

  it("opens the try-it form and sends a request to this API", async () => {
    await page.goto(`${apiUrl()}/docs#tag/system/GET/v1/health`);
    const tryIt = page.getByRole("button", { name: /Test Request.*\/v1\/health/ });
    await tryIt.waitFor({ state: "visible", timeout: 15_000 });
    await tryIt.click();
    const send = page.getByRole("button", { name: /^Send/ }).first();
    await send.waitFor({ state: "visible", timeout: 15_000 });
    await send.click();
    await page.getByText("200 OK").first().waitFor({ state: "visible", timeout: 15_000 });
    await page.screenshot({ path: join(shots, "docs-try-it.png") });

    expect(external).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(failed).toEqual([]);
  }, 90_000);
});
