/**
 * The console's mapping editor in a real browser (Debian's chromium) against a walferry process with
 * `map_mode: database` and embedded Postgres: a table added from the page (Save) is copied and then streams rows
 * inserted afterwards; a concurrent add answers 409, a wrong token 401 and a lost connection a network error, each
 * with a clear message; a table's mode and target change and it is removed from the page. Keyboard only for the add.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { chromiumAvailable, openBrowser, screenshot, unlabelledControls, type TestBrowser } from "../support/Browser.js"
import { waitFor } from "../support/engine.js"
import { startTestPgs, type TestPg } from "../support/Pg.js"
import { latestVersion } from "../support/versions.js"
import { startWalferry, stopAllWalferry, type WalferryProcess } from "../support/WalferryProcess.js"

const available = chromiumAvailable()

describe.skipIf(!available)("mapping editor in chromium (map_mode: database)", () => {
  let source: TestPg
  let dest: TestPg
  let proc: WalferryProcess
  let browser: TestBrowser
  const base = () => `http://127.0.0.1:${proc.port}`

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base()}${path}`, {
      method,
      headers: { authorization: `Bearer ${proc.token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: res.status, body: (await res.json().catch(() => null)) as any }
  }
  const count = async (table: string) => {
    const rows = await dest.query(
      `select count(*)::int as n from pg_tables where schemaname = 'public' and tablename = $1`,
      [table],
      "dwh"
    )
    if (rows[0]!.n === 0) return -1
    return Number((await dest.query(`select count(*)::int as n from "${table}"`, [], "dwh"))[0]!.n)
  }
  const tableState = async (target: string) => (await proc.status()).tables.find((t) => t.target === target)?.state

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await Promise.all([source.createDatabase("shop"), dest.createDatabase("dwh")])
    await source.query(
      `create table orders (id int primary key, note text);
       create table customers (id int primary key, name text);
       create table audit_log (at timestamptz, what text);
       insert into orders select g, 'o' || g from generate_series(1, 300) g;
       insert into customers select g, 'c' || g from generate_series(1, 1500) g;
       analyze`,
      [],
      "shop"
    )
    proc = await startWalferry({
      destination: dest.url("dwh"),
      mapMode: "database",
      autoCreate: true,
      map: [],
      api: { series_interval_ms: 1000 }
    })
    const db = await api("POST", "/api/db", { name: "shop" })
    expect(db.status).toBe(200)
    expect((await api("POST", "/api/url", { db_id: db.body.id, sid: "s1", url: source.url("shop") })).status).toBe(200)
    expect((await api("POST", "/api/tbl", { db_id: db.body.id, name: "orders" })).status).toBe(200)
    await waitFor("orders streaming", async () => (await tableState("orders")) === "streaming", 60_000)
    browser = await openBrowser()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("adds a table from the page: it is copied, then rows inserted afterwards arrive", async () => {
    const { page } = browser
    await page.goto(`${base()}/#/mapping`)
    await page.getByText("stored in the destination database").waitFor()
    const form = page.getByRole("form", { name: "Add a table of shop" })
    await form.waitFor()
    await form.getByLabel("Source table").selectOption("public.customers")
    expect(await form.getByLabel("Target table").inputValue()).toBe("customers")
    await form.getByRole("button", { name: "Save" }).click()
    await page.getByText("Adding public.customers needs the API token").waitFor()

    await page.getByLabel("API token").fill("not-the-token")
    await form.getByRole("button", { name: "Save" }).click()
    await page.getByText("the API token was not accepted (HTTP 401").waitFor()

    await page.getByLabel("API token").fill(proc.token)
    await form.getByLabel("Target table").fill("customers_copy")
    // keyboard only: mode, then Save
    await form.getByLabel("Mode").focus()
    await page.keyboard.press("Tab")
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Save")
    await page.keyboard.press("Enter")
    await page.getByText("Added public.customers \u2192 customers_copy (clone)").waitFor()
    await waitFor("the copy", async () => (await count("customers_copy")) === 1500, 60_000)
    await waitFor("customers_copy streaming", async () => (await tableState("customers_copy")) === "streaming")
    await source.query("insert into customers select g, 'new' from generate_series(1501, 1520) g", [], "shop")
    await waitFor("rows inserted afterwards", async () => (await count("customers_copy")) === 1520)
    const row = page.locator("tr", { hasText: "public.customers" })
    await row.getByLabel("Target of public.customers").waitFor()
    expect(await row.textContent()).toContain("yes")
    expect(await unlabelledControls(page)).toEqual([])
    await screenshot(page, "mapping-editor")
    expect(browser.problems.filter((p) => /Content Security Policy|page error/.test(p))).toEqual([])
  })

  it("a concurrent change answers 409 and a lost connection a network error, both explained", async () => {
    const { page } = browser
    await page.goto(`${base()}/#/mapping`)
    const form = page.getByRole("form", { name: "Add a table of shop" })
    await form.getByLabel("Source table").selectOption("public.audit_log")
    const dbId = (await api("GET", "/api/db")).body[0].id
    expect((await api("POST", "/api/tbl", { db_id: dbId, name: "audit_log", type: "append" })).status).toBe(200)
    await form.getByRole("button", { name: "Save" }).click()
    await page
      .getByText(/Adding public\.audit_log not possible right now \(HTTP 409 conflict: already exists/)
      .waitFor()

    await page.route("**/api/tbl/**", (route) => route.abort("connectionrefused"))
    await page.getByRole("button", { name: "List again" }).click()
    const audit = page.locator("tr", { hasText: "public.audit_log" })
    await audit.getByRole("button", { name: "Save the changes to public.audit_log" }).click()
    await page.getByText("Changing public.audit_log failed: cannot reach walferry").waitFor()
    await page.unroute("**/api/tbl/**")
  })

  it("changes a table's mode and target, then removes it", async () => {
    const { page } = browser
    await page.goto(`${base()}/#/mapping`)
    const audit = page.locator("tr", { hasText: "public.audit_log" })
    await audit.getByLabel("Target of public.audit_log").fill("audit_history")
    await audit.getByLabel("Mode of public.audit_log").selectOption("history")
    await audit.getByRole("button", { name: "Save the changes to public.audit_log" }).click()
    await page.getByText("public.audit_log now goes to audit_history (history)").waitFor()
    const stored = (await api("GET", "/api/tbl")).body.find((t: { name: string }) => t.name === "audit_log")
    expect(stored).toMatchObject({ target: "audit_history", type: "history" })

    page.once("dialog", (d) => void d.accept())
    await page
      .locator("tr", { hasText: "public.audit_log" })
      .getByRole("button", { name: "Remove public.audit_log" })
      .click()
    await page.getByText("public.audit_log is no longer replicated").waitFor()
    expect((await api("GET", "/api/tbl")).body.map((t: { name: string }) => t.name)).toEqual(["orders", "customers"])
    await waitFor("its writer gone", async () => (await tableState("audit_history")) === undefined)
    const gone = page.locator("tr", { hasText: "public.audit_log" })
    await waitFor("the row unreplicated", async () => /no\s*—/.test((await gone.textContent()) ?? ""), 10_000)
    expect(await gone.getByRole("button").count()).toBe(0)
  })
})
