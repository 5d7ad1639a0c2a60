/**
 * The web dashboard served by the API: an HTML page with its own inline script and style only, allowed by hash in
 * its Content-Security-Policy, that reads `/status` and posts the control endpoints; values reach the DOM only
 * through textContent.
 */
import { createHash } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { DASHBOARD_CSP, dashboardHtml } from "../../../src/http/Dashboard.js"
import { openApiDocument } from "../../../src/http/OpenApi.js"
import { call, PASSWORD, startApi, TOKEN, type Harness } from "./apiHarness.js"

let api: Harness

beforeAll(async () => {
  api = await startApi()
})
afterAll(() => api.dispose())

const inline = (tag: "script" | "style") => {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(dashboardHtml)
  if (m === null) throw new Error(`no <${tag}> in the page`)
  return m[1]!
}
const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`

describe("web dashboard", () => {
  it("is served at / and /dashboard as HTML, without a token", async () => {
    for (const path of ["/", "/dashboard"]) {
      const res = await fetch(`${api.url}${path}`)
      expect(res.status).toBe(200)
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(res.headers.get("content-security-policy")).toBe(DASHBOARD_CSP)
      expect(res.headers.get("x-content-type-options")).toBe("nosniff")
      const html = await res.text()
      expect(html).toBe(dashboardHtml)
      expect(html.startsWith("<!doctype html>")).toBe(true)
    }
  })

  it("polls /status and posts the control endpoints with the typed bearer token", () => {
    const script = inline("script")
    expect(script).toContain('fetch("./status"')
    for (const path of ["./pause", "./resume", "./drain-stop", "./tables/"]) expect(script).toContain(`"${path}`)
    expect(script).toContain('"authorization": "Bearer " + token')
    expect(script).toContain("sessionStorage")
    expect(script).not.toContain("localStorage")
    for (const field of [
      "confirmedLsn",
      "receivedLsn",
      "lagSeconds",
      "retainedWalBytes",
      "mode",
      "state",
      "error",
      "rowsApplied",
      "mailboxDepth",
      "syncProgress"
    ]) {
      expect(script).toContain(`.${field}`)
    }
  })

  it("inserts values only as text and loads nothing from elsewhere", () => {
    const script = inline("script")
    expect(() => new Function(script)).not.toThrow()
    expect(script).toContain("textContent")
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]) {
      expect(script).not.toContain(sink)
    }
    expect(dashboardHtml).not.toMatch(/(src|href)="(https?:)?\/\//)
    expect(dashboardHtml).not.toMatch(/https?:\/\//)
    expect(dashboardHtml).not.toContain(TOKEN)
    expect(dashboardHtml).not.toContain(PASSWORD)
  })

  it("allows exactly its own script and style by hash, and requests to its own origin", () => {
    expect(DASHBOARD_CSP).toContain(`script-src ${sha256(inline("script"))}`)
    expect(DASHBOARD_CSP).toContain(`style-src ${sha256(inline("style"))}`)
    expect(DASHBOARD_CSP).toContain("default-src 'none'")
    expect(DASHBOARD_CSP).toContain("connect-src 'self'")
    expect(DASHBOARD_CSP).not.toContain("unsafe")
  })

  it("is in the OpenAPI description", async () => {
    expect(Object.keys(openApiDocument.paths)).toEqual(expect.arrayContaining(["/", "/dashboard"]))
    const r = await call(`${api.url}/openapi.json`)
    expect(r.body.paths["/dashboard"].get.responses["200"].content).toHaveProperty(["text/html"])
  })
})
