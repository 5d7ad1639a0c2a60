/**
 * The web console in a real browser (Debian's chromium through playwright-core) against a real walferry process and
 * embedded Postgres: charts get points and move under a workload, a stopped table's detail shows its error with the
 * SQLSTATE and the column mapping that explains it, the mapping lists unmapped tables, pause/resume work from the
 * page, a wrong or missing token gets a clear message, and the page reconnects by itself through a restart.
 * Screenshots of each page land in test-artifacts/ (and docs/ with WALFERRY_UPDATE_SCREENSHOTS=1).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { chromiumAvailable, openBrowser, screenshot, type TestBrowser } from "../support/Browser.js"
import { waitFor } from "../support/engine.js"
import { startTestPgs, type TestPg } from "../support/Pg.js"
import { latestVersion } from "../support/versions.js"
import { sleep, startWalferry, stopAllWalferry, type WalferryProcess } from "../support/WalferryProcess.js"

const available = chromiumAvailable()

describe.skipIf(!available)("web console in chromium", () => {
  let source: TestPg
  let dest: TestPg
  let proc: WalferryProcess
  let browser: TestBrowser
  const base = () => `http://127.0.0.1:${proc.port}`

  const start = (port?: number, token?: string) =>
    startWalferry({
      destination: dest.url("dwh"),
      api: { series_interval_ms: 1000 },
      ...(port === undefined ? {} : { port }),
      ...(token === undefined ? {} : { token }),
      map: [
        {
          database: "shop",
          urls: [{ url: source.url("shop"), sid: "s1" }],
          tables: { orders: null, notes: null, customers: { type: "append" } }
        }
      ]
    })

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await source.createDatabase("shop")
    await source.query(
      `create table orders (id int primary key, amount numeric(10,2), note text);
       create table customers (id int primary key, name text);
       create table notes (id int primary key, body text);
       create table audit_log (at timestamptz, what text);
       insert into orders select g, g * 1.5, 'seed' from generate_series(1, 2000) g;
       insert into customers select g, 'c' || g from generate_series(1, 50) g;
       analyze`,
      [],
      "shop"
    )
    await dest.createDatabase("dwh")
    await dest.query(
      `create table orders (sid text, id int, amount numeric(10,2), note text, primary key (sid, id));
       create table customers (sid text, id int, name text, primary key (sid, id));
       create table notes (sid text, id int, body integer, primary key (sid, id))`,
      [],
      "dwh"
    )
    proc = await start()
    await waitFor("streaming", async () => (await proc.status()).sources.every((s) => s.state === "streaming"), 60_000)
    browser = await openBrowser()
  })

  afterAll(async () => {
    await browser?.close()
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("overview: charts have points and move under a workload", async () => {
    const { page } = browser
    await page.goto(`${base()}/`)
    await page.getByRole("heading", { name: "walferry" }).waitFor()
    const points = () => page.locator("figure.chart").first().getAttribute("data-points").then(Number)
    await waitFor("three samples", async () => (await points()) >= 3, 30_000)
    const before = await points()
    let id = 10_000
    const until = Date.now() + 6_000
    while (Date.now() < until) {
      await source.query(
        `insert into orders select g, 1, 'load' from generate_series($1::int, $1::int + 199) g`,
        [id],
        "shop"
      )
      id += 200
      await sleep(100)
    }
    await waitFor("the workload on the chart", async () => {
      const label = (await page.locator("figure.chart").first().getAttribute("aria-label")) ?? ""
      return (await points()) > before && /all sources [1-9]/.test(label)
    })
    const series = (await (await fetch(`${base()}/api/series`)).json()) as {
      overall: { changesPerSec: Array<number | null> }
    }
    expect(Math.max(...series.overall.changesPerSec.map((v) => v ?? 0))).toBeGreaterThan(0)
    expect(await page.locator("figure.chart canvas").count()).toBe(4)
    await page.getByRole("link", { name: "orders" }).first().waitFor()
    await screenshot(page, "overview")
    expect(browser.problems).toEqual([])
  })

  it("table detail: a stopped table shows its error, SQLSTATE and the column that explains it", async () => {
    await source.query("insert into notes values (1, 'not a number')", [], "shop")
    await waitFor("notes stopped", async () =>
      (await proc.status()).tables.some((t) => t.target === "notes" && t.state === "stopped")
    )
    const error = (await proc.status()).tables.find((t) => t.target === "notes")!.error!
    const { page } = browser
    await page.goto(`${base()}/#/table/notes`)
    const alert = page.locator(".error-box")
    await alert.waitFor()
    expect(await alert.textContent()).toContain(error)
    expect(await alert.textContent()).toMatch(/SQLSTATE [0-9A-Z]{5}/)
    const body = page.locator("tr", { hasText: "body" }).first()
    await body.waitFor()
    expect(await body.textContent()).toContain("integer")
    expect(await body.textContent()).toContain("types differ")
    await screenshot(page, "table-stopped")
    await page.goto(`${base()}/#/table/orders`)
    await page.locator(".stat", { hasText: "rows applied" }).waitFor()
    await page.locator("tr", { hasText: "amount" }).first().waitFor()
    await screenshot(page, "table")
  })

  it("mapping: every source table, replicated or not", async () => {
    const { page } = browser
    await page.goto(`${base()}/#/mapping`)
    const audit = page.locator("tr", { hasText: "public.audit_log" })
    await audit.waitFor()
    expect(await audit.textContent()).toMatch(/no.*no/)
    const orders = page.locator("tr", { hasText: "public.orders" })
    expect(await orders.textContent()).toContain("clone")
    expect(await page.getByText("read-only here").count()).toBe(1)
    expect(await page.getByRole("button", { name: "Save" }).count()).toBe(0)
    expect(await page.locator("#view select, #view input").count()).toBe(0)
    await screenshot(page, "mapping")
  })

  it("a missing or wrong token gets a clear message; the right one pauses and resumes", async () => {
    const { page } = browser
    await page.goto(`${base()}/`)
    await page.getByRole("button", { name: "Pause" }).click()
    await page.getByText("needs the API token").waitFor()
    await page.getByLabel("API token").fill("wrong-token")
    await page.getByRole("button", { name: "Pause" }).click()
    await page.getByText("the API token was not accepted (HTTP 401").waitFor()
    expect((await proc.status()).paused).toBe(false)
    await screenshot(page, "wrong-token")
    await page.getByLabel("API token").fill(proc.token)
    await page.getByRole("button", { name: "Pause" }).click()
    await page.getByText("Pause: done.").waitFor()
    await waitFor("paused", async () => (await proc.status()).paused)
    await page.locator("#paused-badge:not([hidden])").waitFor()
    await page.getByRole("button", { name: "Resume" }).click()
    await page.getByText("Resume: done.").waitFor()
    await waitFor("resumed", async () => !(await proc.status()).paused)
  })

  it("keeps working through a walferry restart", async () => {
    const { page } = browser
    await page.goto(`${base()}/`)
    await page.locator("figure.chart").first().waitFor()
    const { port, token } = proc
    proc.kill("SIGKILL")
    await proc.waitExit()
    await page.getByText("walferry is not reachable").waitFor({ timeout: 15_000 })
    await screenshot(page, "disconnected")
    proc = await start(port, token)
    await page.getByText(/reconnected/i).waitFor({ timeout: 30_000 })
    expect(await page.locator("#banner").isHidden()).toBe(true)
  })
})
