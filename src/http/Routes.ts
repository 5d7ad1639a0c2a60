/**
 * The routes of the HTTP API. Handlers fail with `ApiError` only; `Api` renders errors, checks the bearer token of
 * mutating requests before any route runs, and turns unknown routes into JSON 404s.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { EngineControl } from "../pipeline/EngineControl.js"
import { collectFromStatus, registry } from "../telemetry/Metrics.js"
import { ApiError, badInput, errorResponse, notFound } from "./ApiError.js"
import { consoleRoutes } from "./console/ConsoleRoutes.js"
import { mapView } from "./MapView.js"
import { openApiDocument } from "./OpenApi.js"
import { notReady, statusView, takeSnapshot } from "./StatusView.js"

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

/** Postgres identifier rules (unquoted), at most 63 characters */
const IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_$]{0,62}$/u

/** control endpoints take no input, but an optional JSON object body with a `reason` (logged) */
const controlInput = Effect.gen(function* () {
  const req = yield* HttpServerRequest.HttpServerRequest
  const text = yield* req.text.pipe(Effect.mapError(() => badInput("body", "could not read the request body")))
  if (text.trim() === "") return { reason: undefined }
  const parsed = yield* Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: () => badInput("body", "not JSON")
  })
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return yield* badInput("body", "must be a JSON object")
  }
  const reason = (parsed as Record<string, unknown>)["reason"]
  if (reason !== undefined && typeof reason !== "string") return yield* badInput("reason", "must be a string")
  return { reason }
})

const control = (
  action: string,
  run: Effect.Effect<void, ApiError, EngineControl>,
  extra: Record<string, string> = {}
) =>
  Effect.gen(function* () {
    const { reason } = yield* controlInput
    const why = reason === undefined ? "" : ` (${reason.slice(0, 200)})`
    yield* Effect.logInfo(`API: ${action}${why}`).pipe(Effect.annotateLogs(extra))
    yield* run
    return json({ ok: true, action, ...extra })
  })

/** the engine ends the process once drained: answer first, drain in the background */
const drainInBackground = Effect.flatMap(EngineControl, (c) => Effect.asVoid(Effect.forkDaemon(c.drainStop)))

const resync = Effect.gen(function* () {
  const config = yield* AppConfig
  const table = (yield* HttpRouter.params)["table"] ?? ""
  const targets = new Set(config.sources.flatMap((g) => g.tables.map((t) => t.target)))
  if (!targets.has(table)) {
    if (!IDENTIFIER.test(table)) return yield* badInput("table", "not a valid table name")
    return yield* notFound(`unknown table "${table}"`)
  }
  const run = Effect.flatMap(EngineControl, (c) => c.resync(table)).pipe(
    Effect.mapError((e) => new ApiError({ status: 409, code: "rejected", message: e.message }))
  )
  return yield* control("resync", run, { table })
})

const readOnlyMap = Effect.gen(function* () {
  const config = yield* AppConfig
  if (!config.mapReadOnly)
    return yield* new ApiError({ status: 501, code: "not_implemented", message: "not supported" })
  return errorResponse(405, "not_allowed", "cannot modify configuration in declarative mode")
})

const metrics = Effect.gen(function* () {
  collectFromStatus(yield* takeSnapshot)
  const text = yield* Effect.promise(() => registry.metrics())
  return HttpServerResponse.text(text, { contentType: registry.contentType })
})

const ready = Effect.gen(function* () {
  const problems = notReady(yield* statusView)
  if (problems.length === 0) return json({ status: "ready" })
  const error = problems.map((p) => `${p.kind} ${p.name}: ${p.reason}`).join("; ")
  return errorResponse(503, "not_ready", error, { notReady: problems })
})

export const routes = HttpRouter.empty.pipe(
  HttpRouter.concat(consoleRoutes),
  HttpRouter.get("/healthz", Effect.succeed(json({ status: "ok" }))),
  HttpRouter.get("/readyz", ready),
  HttpRouter.get(
    "/status",
    Effect.map(statusView, (v) => json(v))
  ),
  HttpRouter.get("/metrics", metrics),
  HttpRouter.get("/openapi.json", Effect.succeed(json(openApiDocument))),
  HttpRouter.get(
    "/api/map",
    Effect.map(AppConfig, (c) => json(mapView(c)))
  ),
  HttpRouter.post(
    "/pause",
    control(
      "pause",
      Effect.flatMap(EngineControl, (c) => c.pause)
    )
  ),
  HttpRouter.post(
    "/resume",
    control(
      "resume",
      Effect.flatMap(EngineControl, (c) => c.resume)
    )
  ),
  HttpRouter.post("/drain-stop", control("drain-stop", drainInBackground)),
  HttpRouter.post("/tables/:table/resync", resync),
  HttpRouter.post("/api/map", readOnlyMap),
  HttpRouter.put("/api/map", readOnlyMap),
  HttpRouter.patch("/api/map", readOnlyMap),
  HttpRouter.del("/api/map", readOnlyMap),
  HttpRouter.post("/api/map/*", readOnlyMap),
  HttpRouter.put("/api/map/*", readOnlyMap),
  HttpRouter.patch("/api/map/*", readOnlyMap),
  HttpRouter.del("/api/map/*", readOnlyMap)
)
