/**
 * The web console: the page at `/` and `/dashboard`, its files under `/console/`, and the read-only JSON it needs
 * besides `/status`: `/api/series` (in-memory time series), `/api/tables/{table}` (column mapping and findings of
 * one table) and `/api/catalog` (every table of each source, mapped or not), all read from the mapping in effect.
 * None of them mutates, so none needs the token; the catalog reads are short-lived connections.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Schema } from "effect"
import { currentConfig } from "../../pipeline/LiveMapping.js"
import { Series } from "../../telemetry/Series.js"
import { NotFound, notFound } from "../ApiError.js"
import { consoleFile, consolePage } from "../console/ConsoleAssets.js"
import { sourceCatalog } from "../console/SourceTables.js"
import { tableDetail } from "../console/TableDetail.js"
import { apiOf } from "./Group.js"

const Html = HttpApiSchema.Text({ contentType: "text/html" })

export const ConsoleGroup = HttpApiGroup.make("console")
  .add(HttpApiEndpoint.get("consoleRoot", "/").addSuccess(Html).annotate(OpenApi.Summary, "web console"))
  .add(HttpApiEndpoint.get("console", "/dashboard").addSuccess(Html).annotate(OpenApi.Summary, "web console"))
  .add(
    HttpApiEndpoint.get("consoleFile", "/console/:file")
      .setPath(Schema.Struct({ file: Schema.String }))
      .addSuccess(HttpApiSchema.Text())
      .addError(NotFound)
      .annotate(OpenApi.Summary, "the console's scripts and stylesheets (uPlot included), served by walferry itself")
  )
  .add(
    HttpApiEndpoint.get("series", "/api/series")
      .addSuccess(Schema.Unknown)
      .annotate(
        OpenApi.Summary,
        "in-memory time series: per source and overall changes/s, rows/s, lag, retained WAL and slot headroom; per table rows/s and mailbox depth"
      )
  )
  .add(
    HttpApiEndpoint.get("tableDetail", "/api/tables/:table")
      .setPath(Schema.Struct({ table: Schema.String }))
      .addSuccess(Schema.Unknown)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "one destination table: its sources, column mapping with types, check findings")
  )
  .add(
    HttpApiEndpoint.get("catalog", "/api/catalog")
      .addSuccess(Schema.Unknown)
      .annotate(OpenApi.Summary, "every table of each source database, with its target and mode when mapped")
  )

export const ConsoleLive = HttpApiBuilder.group(apiOf(ConsoleGroup), "console", (handlers) =>
  handlers
    .handleRaw("consoleRoot", () => Effect.sync(consolePage))
    .handleRaw("console", () => Effect.sync(consolePage))
    .handleRaw("consoleFile", ({ path }) => {
      const file = consoleFile(path.file)
      return file === undefined ? Effect.fail(notFound(`no console file "${path.file}"`)) : Effect.succeed(file)
    })
    .handle("series", () => Effect.flatMap(Series, (s) => s.view))
    .handle("tableDetail", ({ path }) =>
      Effect.gen(function* () {
        const detail = yield* tableDetail(yield* currentConfig, path.table)
        if (detail === undefined) return yield* Effect.fail(notFound(`unknown table "${path.table}"`))
        return detail as unknown
      })
    )
    .handle("catalog", () =>
      Effect.flatMap(currentConfig, (config) =>
        Effect.map(sourceCatalog(config), (groups) => ({
          readOnly: config.mapReadOnly,
          editable: config.mapMode === "database",
          groups
        }))
      )
    )
)
