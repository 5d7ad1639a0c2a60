/**
 * Reads that never need the token: liveness, readiness, status and Prometheus metrics. They are
 * in-memory snapshots and never block the pipeline.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Schema } from "effect"
import { collectFromStatus, registry } from "../../telemetry/Metrics.js"
import { Unavailable } from "../ApiError.js"
import { notReady, statusView, takeSnapshot } from "../StatusView.js"
import { SequenceState } from "./CutoverApi.js"
import { apiOf } from "./Group.js"

const Lsn = Schema.NullOr(Schema.String)

const SourceStatus = Schema.Struct({
  database: Schema.String,
  sid: Schema.String,
  state: Schema.Literal("starting", "syncing", "streaming", "retrying", "paused", "stopped", "elsewhere"),
  error: Schema.NullOr(Schema.String),
  since: Schema.NullOr(Schema.String),
  restarts: Schema.Number,
  confirmedLsn: Lsn,
  receivedLsn: Lsn,
  lagSeconds: Schema.optional(Schema.Number),
  retainedWalBytes: Schema.optional(Schema.Number),
  owner: Schema.optional(Schema.NullOr(Schema.String)).annotations({
    description: "cluster mode: the runner streaming this source now, null while it moves"
  })
}).annotations({ identifier: "Source" })

const TableStatus = Schema.Struct({
  target: Schema.String,
  mode: Schema.Literal("clone", "append", "history"),
  state: Schema.Literal("syncing", "streaming", "paused", "stopped", "dropped"),
  error: Schema.NullOr(Schema.String),
  rowsApplied: Schema.Number,
  batches: Schema.Number,
  lastLsn: Lsn,
  mailboxDepth: Schema.Number,
  syncProgress: Schema.optional(
    Schema.Struct({ chunksDone: Schema.Number, chunksTotal: Schema.Number, rows: Schema.Number })
  ),
  wildcard: Schema.optional(Schema.String).annotations({ description: "the wildcard key that mapped this table" })
}).annotations({ identifier: "Table" })

export const Status = Schema.Struct({
  version: Schema.String,
  uptimeSeconds: Schema.Number,
  paused: Schema.Boolean,
  sources: Schema.Array(SourceStatus),
  tables: Schema.Array(TableStatus),
  cluster: Schema.optional(
    Schema.Struct({ runner: Schema.String, runnersAlive: Schema.Array(Schema.String) }).annotations({
      description: "cluster mode only: this runner's id and the runners with a live heartbeat"
    })
  ),
  sequences: Schema.optional(Schema.Array(SequenceState))
}).annotations({ identifier: "Status" })

export const HealthGroup = HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("healthz", "/healthz")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
      .annotate(OpenApi.Summary, "process alive")
  )
  .add(
    HttpApiEndpoint.get("readyz", "/readyz")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ready") }))
      .addError(Unavailable)
      .annotate(OpenApi.Summary, "every source streaming or syncing and no table stopped")
  )
  .add(HttpApiEndpoint.get("status", "/status").addSuccess(Status).annotate(OpenApi.Summary, "sources and tables"))
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text())
      .annotate(OpenApi.Summary, "Prometheus metrics (text exposition)")
  )

const metrics = Effect.gen(function* () {
  collectFromStatus(yield* takeSnapshot)
  const text = yield* Effect.promise(() => registry.metrics())
  return HttpServerResponse.text(text, { contentType: registry.contentType })
})

const ready = Effect.gen(function* () {
  const problems = notReady(yield* statusView)
  if (problems.length === 0) return { status: "ready" as const }
  const error = problems.map((p) => `${p.kind} ${p.name}: ${p.reason}`).join("; ")
  return yield* Effect.fail(new Unavailable({ code: "not_ready", error, notReady: problems }))
})

export const HealthLive = HttpApiBuilder.group(apiOf(HealthGroup), "health", (handlers) =>
  handlers
    .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
    .handle("readyz", () => ready)
    .handle("status", () => statusView)
    .handleRaw("metrics", () => metrics)
)
