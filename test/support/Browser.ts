/**
 * Debian's chromium driven by playwright-core for the console's browser tests: headless, no sandbox (CI runs as
 * root), no network of its own (no QUIC, background networking, component updates or sync), a fresh profile in a
 * temp dir removed on close. `WALFERRY_CHROMIUM` overrides the binary. Screenshots go to test-artifacts/ and, with
 * WALFERRY_UPDATE_SCREENSHOTS=1, also to docs/ (the PNGs README shows).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { chromium, type BrowserContext, type Page } from "playwright-core"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
export const ARTIFACTS = join(ROOT, "test-artifacts")
const DOCS = join(ROOT, "docs")

export const chromiumPath = (): string => process.env.WALFERRY_CHROMIUM ?? "/usr/bin/chromium"

/** false when there is no chromium here; in CI (CI=true) a missing chromium is an error, not a skip */
export const chromiumAvailable = (): boolean => {
  if (existsSync(chromiumPath())) return true
  if (process.env.CI === "true") throw new Error(`no chromium at ${chromiumPath()}: .ci/run installs it (apt-get)`)
  console.warn(`browser tests skipped: no chromium at ${chromiumPath()} (apt-get install -y chromium)`)
  return false
}

export interface TestBrowser {
  readonly context: BrowserContext
  readonly page: Page
  /** browser console errors and failed requests seen so far (CSP violations show up here) */
  readonly problems: Array<string>
  readonly close: () => Promise<void>
}

export const openBrowser = async (): Promise<TestBrowser> => {
  const profile = mkdtempSync(join(tmpdir(), "walferry-chromium-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ],
    viewport: { width: 1366, height: 860 },
    deviceScaleFactor: 1,
    timeout: 60_000
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const problems: Array<string> = []
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`)
  })
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close().catch(() => undefined)
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** a full-page screenshot under test-artifacts/ (and docs/ with WALFERRY_UPDATE_SCREENSHOTS=1) */
export const screenshot = async (page: Page, name: string): Promise<void> => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const png = await page.screenshot({ fullPage: true, animations: "disabled" })
  writeFileSync(join(ARTIFACTS, `${name}.png`), png)
  if (process.env.WALFERRY_UPDATE_SCREENSHOTS === "1") {
    mkdirSync(DOCS, { recursive: true })
    writeFileSync(join(DOCS, `console-${name}.png`), png)
  }
}

/** the form controls of the page without an accessible name (label, aria-label or aria-labelledby), by tag and id */
export const unlabelledControls = (page: Page): Promise<Array<string>> =>
  page.evaluate(`[...document.querySelectorAll("input, select, textarea")]
    .filter((c) => c.type !== "hidden" && !c.getAttribute("aria-label") && !c.getAttribute("aria-labelledby")
      && !(c.id && document.querySelector('label[for="' + CSS.escape(c.id) + '"]')) && !c.closest("label"))
    .map((c) => c.tagName.toLowerCase() + "#" + c.id)`)
