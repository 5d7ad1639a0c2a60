/**
 * Operator control (token required): pause, resume, drain-stop and the resync of one table. Each takes an
 * optional JSON object body with a `reason`, which is logged; an empty body is fine.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Either, Schema } from "effect"
import { EngineControl } from "../../pipeline/EngineControl.js"
import { BadRequest, badInput, Conflict, conflict, fromParseIssue, NotFound, notFound } from "../ApiError.js"
import { Authorization } from "../Auth.js"
import { currentConfig } from "../../pipeline/LiveMapping.js"
import { apiOf } from "./Group.js"

export const ControlBody = Schema.Struct({
  reason: Schema.optional(Schema.String.annotations({ description: "logged with the action" }))
}).annotations({ identifier: "ControlBody" })

export const Done = Schema.Struct({
  ok: Schema.Literal(true),
  action: Schema.String,
  table: Schema.optional(Schema.String)
}).annotations({ identifier: "Done" })

/** Postgres identifier rules (unquoted), at most 63 characters */
const IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_$]{0,62}$/u

const action = <N extends string>(name: N, path: `/${string}`, summary: string) =>
  HttpApiEndpoint.post(name, path)
    .setPayload(ControlBody)
    .addSuccess(Done)
    .addError(BadRequest)
    .middleware(Authorization)
    .annotate(OpenApi.Summary, summary)

export const ControlGroup = HttpApiGroup.make("control")
  .add(action("pause", "/pause", "stop consuming from every source (slots keep their position)"))
  .add(action("resume", "/resume", "resume consuming"))
  .add(action("drainStop", "/drain-stop", "apply and confirm everything received, then exit 0"))
  .add(
    action("resync", "/tables/:table/resync", "copy one destination table again while the rest streams")
      .setPath(Schema.Struct({ table: Schema.String }))
      .addError(NotFound)
      .addError(Conflict)
  )

const decodeBody = Schema.decodeUnknownEither(ControlBody)

/** the optional body: empty, or a JSON object with a string `reason` */
export const readControlBody = (req: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const text = yield* req.text.pipe(Effect.mapError(() => badInput("body", "could not read the request body")))
    if (text.trim() === "") return { reason: undefined }
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => badInput("body", "not JSON")
    })
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return yield* Effect.fail(badInput("body", "must be a JSON object"))
    }
    return yield* Either.match(decodeBody(parsed), {
      onLeft: (e) => Effect.fail(fromParseIssue(e.issue)),
      onRight: (body) => Effect.succeed(body)
    })
  })

const control = <E, R>(
  req: HttpServerRequest.HttpServerRequest,
  name: string,
  run: Effect.Effect<void, E, R>,
  extra: { readonly table?: string } = {}
) =>
  Effect.gen(function* () {
    const { reason } = yield* readControlBody(req)
    const why = reason === undefined ? "" : ` (${reason.slice(0, 200)})`
    yield* Effect.logInfo(`API: ${name}${why}`).pipe(Effect.annotateLogs(extra))
    yield* run
    return { ok: true as const, action: name, ...extra }
  })

/** the engine ends the process once drained: answer first, drain in the background */
const drainInBackground = Effect.flatMap(EngineControl, (c) => Effect.asVoid(Effect.forkDaemon(c.drainStop)))

const resync = (req: HttpServerRequest.HttpServerRequest, table: string) =>
  Effect.gen(function* () {
    const config = yield* currentConfig
    const targets = new Set(config.sources.flatMap((g) => g.tables.map((t) => t.target)))
    if (!targets.has(table)) {
      if (!IDENTIFIER.test(table)) return yield* Effect.fail(badInput("table", "not a valid table name"))
      return yield* Effect.fail(notFound(`unknown table "${table}"`))
    }
    const run = Effect.flatMap(EngineControl, (c) => c.resync(table)).pipe(
      Effect.mapError((e) => conflict("rejected", e.message))
    )
    return yield* control(req, "resync", run, { table })
  })

export const ControlLive = HttpApiBuilder.group(apiOf(ControlGroup), "control", (handlers) =>
  handlers
    .handleRaw("pause", ({ request }) =>
      control(
        request,
        "pause",
        Effect.flatMap(EngineControl, (c) => c.pause)
      )
    )
    .handleRaw("resume", ({ request }) =>
      control(
        request,
        "resume",
        Effect.flatMap(EngineControl, (c) => c.resume)
      )
    )
    .handleRaw("drainStop", ({ request }) => control(request, "drain-stop", drainInBackground))
    .handleRaw("resync", ({ path, request }) => resync(request, path.table))
)
