/**
 * The web console's files: the page (`/`, `/dashboard`), its modules and stylesheet (`/console/<file>`, from the
 * package's src/http/console/web/, shipped in the package as it is) and uPlot (from its npm package). Only the
 * names listed here are served, each read once and kept in memory. The Content-Security-Policy allows scripts,
 * styles and requests from walferry's own origin only, so the console needs no network besides walferry itself.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { packageRoot } from "../../lib/PackageRoot.js"

const require = createRequire(import.meta.url)
/** src/http/console/web/ of the package, wherever this module runs from (src/, dist/ or the CLI's bundle) */
const web = (name: string) => join(packageRoot()?.dir ?? ".", "src", "http", "console", "web", name)

const JS = "text/javascript; charset=utf-8"
const CSS = "text/css; charset=utf-8"

/** file name under /console/ → where it is and its type */
const FILES: ReadonlyMap<string, { readonly path: () => string; readonly type: string }> = new Map([
  ["app.js", { path: () => web("app.js"), type: JS }],
  ["api.js", { path: () => web("api.js"), type: JS }],
  ["dom.js", { path: () => web("dom.js"), type: JS }],
  ["overview.js", { path: () => web("overview.js"), type: JS }],
  ["charts.js", { path: () => web("charts.js"), type: JS }],
  ["table.js", { path: () => web("table.js"), type: JS }],
  ["mapping.js", { path: () => web("mapping.js"), type: JS }],
  ["mapedit.js", { path: () => web("mapedit.js"), type: JS }],
  ["setup.js", { path: () => web("setup.js"), type: JS }],
  ["setupparts.js", { path: () => web("setupparts.js"), type: JS }],
  ["console.css", { path: () => web("console.css"), type: CSS }],
  ["views.css", { path: () => web("views.css"), type: CSS }],
  ["forms.css", { path: () => web("forms.css"), type: CSS }],
  ["uplot.js", { path: () => require.resolve("uplot/dist/uPlot.iife.min.js"), type: JS }],
  ["uplot.css", { path: () => require.resolve("uplot/dist/uPlot.min.css"), type: CSS }]
])

export const CONSOLE_FILES: ReadonlyArray<string> = [...FILES.keys()]

const cache = new Map<string, Buffer>()
const read = (name: string, path: string): Buffer => {
  let body = cache.get(name)
  if (body === undefined) {
    body = readFileSync(path)
    cache.set(name, body)
  }
  return body
}

/** own origin only, no inline code, no framing */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const headers = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache"
}

export const consolePage = (): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.uint8Array(read("index.html", web("index.html")), {
    contentType: "text/html; charset=utf-8",
    headers: { ...headers, "cache-control": "no-store" }
  })

/** a console file by name, undefined for any other name */
export const consoleFile = (name: string): HttpServerResponse.HttpServerResponse | undefined => {
  const file = FILES.get(name)
  if (file === undefined) return undefined
  return HttpServerResponse.uint8Array(read(name, file.path()), { contentType: file.type, headers })
}
