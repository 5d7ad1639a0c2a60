/**
 * The web console as served: the page and every file it loads come from walferry with a CSP allowing its own
 * origin only (no inline code, nothing from elsewhere); values reach the DOM only through textContent; unknown
 * files are 404; /api/series has aligned columns; a stopped table's SQLSTATE and column mapping are read right.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { CONSOLE_CSP, CONSOLE_FILES } from "../../../src/http/console/ConsoleAssets.js"
import { columnMapping, sqlstateOf } from "../../../src/http/console/TableDetail.js"
import { Series } from "../../../src/telemetry/Series.js"
import { tableMapping } from "../../support/configFixture.js"
import { call, PASSWORD, startApi, TOKEN, writerStatus, type Harness } from "./apiHarness.js"

let api: Harness

beforeAll(async () => {
  api = await startApi()
})
afterAll(() => api.dispose())

describe("web console", () => {
  it("serves the page at / and /dashboard with a CSP of its own origin only", async () => {
    for (const path of ["/", "/dashboard"]) {
      const res = await fetch(`${api.url}${path}`)
      expect(res.status).toBe(200)
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP)
      const html = await res.text()
      expect(html.startsWith("<!doctype html>")).toBe(true)
      expect(html).not.toMatch(/https?:\/\//)
      expect(html).not.toMatch(/<script>|<style>|style="/)
      expect(html).not.toContain(TOKEN)
      expect(html).not.toContain(PASSWORD)
    }
    expect(CONSOLE_CSP).toContain("default-src 'none'")
    expect(CONSOLE_CSP).toContain("script-src 'self'")
    expect(CONSOLE_CSP).not.toContain("unsafe")
  })

  it("serves every file it loads, and nothing else", async () => {
    const html = await (await fetch(`${api.url}/`)).text()
    const loaded = [...html.matchAll(/(?:src|href)="\.\/console\/([^"]+)"/g)].map((x) => x[1]!)
    expect(loaded.length).toBeGreaterThanOrEqual(4)
    for (const name of CONSOLE_FILES) {
      const res = await fetch(`${api.url}/console/${name}`)
      expect(res.status, name).toBe(200)
      expect(res.headers.get("content-type")).toMatch(name.endsWith(".css") ? /^text\/css/ : /^text\/javascript/)
      const text = await res.text()
      if (name.endsWith(".js") && !name.startsWith("uplot")) {
        for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "localStorage"])
          expect(text, `${name} uses ${sink}`).not.toContain(sink)
        expect(text).not.toMatch(/https?:\/\//)
        for (const m of text.matchAll(/from "\.\/([^"]+)"/g)) expect(CONSOLE_FILES).toContain(m[1])
      }
    }
    for (const name of loaded) expect(CONSOLE_FILES).toContain(name)
    for (const bad of ["nope.js", "..%2Fpackage.json", "index.html"]) {
      expect((await call(`${api.url}/console/${bad}`)).status).toBe(404)
    }
  })

  it("/api/series: aligned columns per source and table, rates from counters", async () => {
    api.writers = [writerStatus("invoices_all", { rowsApplied: 10, mailboxDepth: 3 })]
    await api.run(Effect.flatMap(Series, (s) => s.sample))
    api.writers = [writerStatus("invoices_all", { rowsApplied: 30, mailboxDepth: 1 })]
    await api.run(Effect.flatMap(Series, (s) => s.sample))
    const r = await call(`${api.url}/api/series`)
    expect(r.status).toBe(200)
    const n = r.body.t.length
    expect(n).toBeGreaterThanOrEqual(2)
    expect(r.body.overall.changesPerSec).toHaveLength(n)
    expect(r.body.sources.length).toBeGreaterThan(0)
    const t = r.body.tables.find((x: { target: string }) => x.target === "invoices_all")
    expect(t.mailboxDepth.at(-1)).toBe(1)
    // the sampler fiber samples too (every second here): the 20 rows show up in one of the intervals
    expect(Math.max(...t.rowsPerSec.map((v: number | null) => v ?? 0))).toBeGreaterThan(0)
  })

  it("reads the SQLSTATE of a writer error and maps columns source → destination", () => {
    expect(sqlstateOf('table notes: column "body": 42804 column "body" is of type integer')).toBe("42804")
    expect(sqlstateOf("table notes: 22P02 invalid input syntax for type integer")).toBe("22P02")
    expect(sqlstateOf("table notes: no key")).toBeNull()
    const col = (name: string, typeName: string, extra = {}) => ({
      name,
      typeName,
      typeOid: 0,
      attnum: 1,
      notNull: false,
      isPrimaryKey: false,
      isGenerated: false,
      hasDefault: false,
      ...extra
    })
    const cols = columnMapping(
      tableMapping("notes"),
      { columns: [col("id", "integer", { isPrimaryKey: true }), col("body", "text"), col("gone", "text")] } as never,
      {
        columns: [col("sid", "text"), col("id", "integer"), col("body", "integer")],
        primaryKey: ["sid", "id"]
      } as never
    )
    expect(cols.map((c) => [c.source, c.destination, c.note])).toEqual([
      ["id", "id", null],
      ["body", "body", "types differ: values are cast by the destination"],
      ["gone", null, "no such destination column: skipped"],
      [null, "sid", "source id (sid) of each row"]
    ])
  })
})
