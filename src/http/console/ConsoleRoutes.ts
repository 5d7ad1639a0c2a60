/**
 * The web console's routes: the page at `/` and `/dashboard`, its files under `/console/`, and the read-only JSON it
 * needs besides `/status`: `/api/series` (in-memory time series), `/api/tables/{table}` (column mapping and
 * findings of one table) and `/api/catalog` (every table of each source, mapped or not). None of them mutates, so
 * none needs the token; the catalog reads are short-lived connections and never touch the pipeline.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { AppConfig } from "../../config/AppConfig.js"
import { Series } from "../../telemetry/Series.js"
import { notFound } from "../ApiError.js"
import { consoleFile, consolePage } from "./ConsoleAssets.js"
import { sourceCatalog } from "./SourceTables.js"
import { tableDetail } from "./TableDetail.js"

const json = (body: unknown) => HttpServerResponse.unsafeJson(body, { headers: { "cache-control": "no-store" } })

const file = Effect.gen(function* () {
  const name = (yield* HttpRouter.params)["file"] ?? ""
  return consoleFile(name) ?? (yield* notFound(`no console file "${name}"`))
})

const table = Effect.gen(function* () {
  const config = yield* AppConfig
  const target = (yield* HttpRouter.params)["table"] ?? ""
  const detail = yield* tableDetail(config, target)
  return detail === undefined ? yield* notFound(`unknown table "${target}"`) : json(detail)
})

export const consoleRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/", Effect.sync(consolePage)),
  HttpRouter.get("/dashboard", Effect.sync(consolePage)),
  HttpRouter.get("/console/:file", file),
  HttpRouter.get(
    "/api/series",
    Effect.flatMap(Series, (s) => Effect.map(s.view, json))
  ),
  HttpRouter.get("/api/tables/:table", table),
  HttpRouter.get(
    "/api/catalog",
    Effect.flatMap(AppConfig, (c) => Effect.map(sourceCatalog(c), (groups) => json({ groups })))
  )
)
