/**
 * The console's setup wizard in a real browser (Debian's chromium) against a walferry process started with only a
 * destination, `map_mode: database` and a token, and embedded Postgres: the console opens on the wizard, the source
 * is typed with the keyboard, the preflight shows `walferry check`'s findings (with their fix), the tables are picked
 * with their modes, and the start lands on the live dashboard while the initial copy runs; rows inserted afterwards
 * arrive. The password typed in is never in an API answer nor in the page.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { chromiumAvailable, openBrowser, screenshot, unlabelledControls, type TestBrowser } from "../support/Browser.js"
import { waitFor } from "../support/engine.js"
import { startTestPgs, type TestPg } from "../support/Pg.js"
import { latestVersion } from "../support/versions.js"
import { startWalferry, stopAllWalferry, type WalferryProcess } from "../support/WalferryProcess.js"

const available = chromiumAvailable()
const PASSWORD = "wizard-pw-5521"

describe.skipIf(!available)("setup wizard in chromium: from an empty mapping to streaming", () => {
  let source: TestPg
  let dest: TestPg
  let proc: WalferryProcess
  let browser: TestBrowser
  const answers: Array<string> = []
  const base = () => `http://127.0.0.1:${proc.port}`
  const count = async (table: string) =>
    Number(
      (
        await dest.query(
          `select case when to_regclass($1) is null then -1 else (xpath('/row/n/text()',
             query_to_xml(format('select count(*) as n from %I', $1::text), false, true, '')))[1]::text::int end as n`,
          [table],
          "dwh"
        )
      )[0]!.n
    )

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await Promise.all([source.createDatabase("shop"), dest.createDatabase("dwh")])
    await source.query(`create role wizard login superuser replication password '${PASSWORD}'`)
    await source.query(
      `create table orders (id int primary key, amount numeric(10,2), note text);
       create table events (at timestamptz default now(), what text);
       insert into orders select g, g * 1.5, repeat('x', 200) from generate_series(1, 40000) g;
       insert into events (what) select 'e' || g from generate_series(1, 100) g;
       analyze`,
      [],
      "shop"
    )
    proc = await startWalferry({
      destination: dest.url("dwh"),
      mapMode: "database",
      autoCreate: true,
      map: [],
      api: { series_interval_ms: 1000 },
      tuning: { sync_chunk_rows: 2000, sync_rate_rows: 20000 }
    })
    browser = await openBrowser()
    browser.page.on("response", (res) => {
      if (res.url().includes("/api/"))
        void res.text().then(
          (t) => answers.push(t),
          () => undefined
        )
    })
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("opens on the wizard, runs the preflight, starts and lands on the dashboard with rows arriving", async () => {
    const { page } = browser
    await page.goto(`${base()}/`)
    await page.getByRole("heading", { name: "Set up walferry" }).waitFor()
    expect(page.url()).toMatch(/#\/setup$/)
    await page.getByLabel("API token").fill(proc.token)
    await screenshot(page, "setup-source")

    // keyboard only: URL, Tab, password, Tab, sid, Enter submits the preflight
    await page.getByLabel("Source URL").focus()
    await page.keyboard.type(source.url("shop").replace("postgres://postgres@", "postgres://wizard@"))
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Tab")
    await page.keyboard.type("s1")
    await page.keyboard.press("Enter")
    await page.getByText(/^Ready to replicate into postgres:/).waitFor({ timeout: 30_000 })
    expect(await page.evaluate("document.activeElement.id")).toBe("preflight-title")
    expect(await page.getByLabel("Replicate public.orders").isChecked()).toBe(true)
    expect(await page.getByLabel("Replicate public.events").isChecked()).toBe(false)
    expect(await page.locator("tr", { hasText: "public.orders" }).textContent()).toContain("40,000")

    await page.getByLabel("Replicate public.events").check()
    await page.getByLabel("Mode of public.events").selectOption("append")
    await page.getByRole("button", { name: "Check the picked tables" }).click()
    const warning = page.locator("li.finding", { hasText: "events" }).filter({ hasText: "no primary key" })
    await warning.waitFor({ timeout: 30_000 })
    expect(await warning.textContent()).toMatch(/add a primary key or set REPLICA IDENTITY FULL/)
    expect(await page.getByLabel("Mode of public.events").inputValue()).toBe("append")
    expect(await unlabelledControls(page)).toEqual([])
    await screenshot(page, "setup-preflight")

    await page.getByRole("button", { name: "Start replication" }).click()
    await page.getByText("Started: 2 table(s) of shop are copied now, then stream.").waitFor()
    await page.waitForURL(/#\/$/)
    await page.getByRole("link", { name: "orders" }).first().waitFor({ timeout: 30_000 })
    const ordersRow = page.locator("tr", { hasText: "orders" }).last()
    await waitFor(
      "the copy progressing on the page",
      async () => /[1-9]\d*\/\d+ chunks/.test((await ordersRow.textContent()) ?? ""),
      60_000
    )
    await screenshot(page, "setup-started")
    await waitFor("the copy done", async () => (await count("orders")) === 40_000, 120_000)
    expect(await count("events")).toBe(100)
    await source.query("insert into orders select g, 1, 'new' from generate_series(40001, 40025) g", [], "shop")
    await source.query("insert into events (what) values ('after')", [], "shop")
    await waitFor(
      "rows inserted afterwards",
      async () => (await count("orders")) === 40_025 && (await count("events")) === 101
    )
    expect(await page.locator("#setup-link").isHidden()).toBe(true)

    expect(answers.length).toBeGreaterThan(2)
    for (const a of answers) expect(a).not.toContain(PASSWORD)
    expect(await page.content()).not.toContain(PASSWORD)
    expect(browser.problems.filter((p) => /Content Security Policy|page error/.test(p))).toEqual([])
  })

  it("once set up, the wizard sends to the mapping page", async () => {
    const { page } = browser
    await page.goto(`${base()}/#/setup`)
    await page.getByText("The mapping is set up already (2 table(s))").waitFor()
  })
})
