/**
 * Sequences and cutover (token required): `POST /sequences/sync` copies the sequences to the destination now
 * (never backwards) and answers each one's state; `POST /cutover/{step}` runs one step of the guided switch
 * with its default settings and answers the step's result, 200 when it passed and 409 when it did not. The
 * steps' logic lives in src/cutover and src/sequences.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Schema } from "effect"
import { CUTOVER_STEPS, cutoverStep, syncSequencesNow } from "../../cutover/CutoverApi.js"
import { currentConfig } from "../../pipeline/LiveMapping.js"
import { BadRequest, NotFound, notFound } from "../ApiError.js"
import { Authorization } from "../Auth.js"
import { ControlBody, readControlBody } from "./ControlApi.js"
import { apiOf } from "./Group.js"

export const SequenceState = Schema.Struct({
  sequence: Schema.String,
  sources: Schema.Array(Schema.Struct({ source: Schema.String, sequence: Schema.String, owner: Schema.String })),
  sourceValue: Schema.NullOr(Schema.String),
  destinationValue: Schema.NullOr(Schema.String),
  advanced: Schema.Boolean,
  lastSyncAt: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String)
}).annotations({ identifier: "Sequence" })

export const StepResult = Schema.Struct({
  step: Schema.Literal(...CUTOVER_STEPS),
  ok: Schema.Boolean,
  millis: Schema.Number,
  summary: Schema.String,
  problems: Schema.Array(Schema.String),
  detail: Schema.Unknown
}).annotations({ identifier: "CutoverStep" })

export const CutoverGroup = HttpApiGroup.make("cutover")
  .add(
    HttpApiEndpoint.post("sequencesSync", "/sequences/sync")
      .setPayload(ControlBody)
      .addSuccess(
        Schema.Struct({ ok: Schema.Literal(true), action: Schema.String, sequences: Schema.Array(SequenceState) })
      )
      .addError(BadRequest)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "copy the sequences to the destination now (never backwards)")
  )
  .add(
    HttpApiEndpoint.post("cutoverStep", "/cutover/:step")
      .setPath(Schema.Struct({ step: Schema.String }))
      .setPayload(ControlBody)
      .addSuccess(StepResult)
      .addError(StepResult.annotations({ identifier: "CutoverStepFailed" }), { status: 409 })
      .addError(BadRequest)
      .addError(NotFound)
      .middleware(Authorization)
      .annotate(
        OpenApi.Summary,
        `one cutover step with its default settings (${CUTOVER_STEPS.join(", ")}); 409 when it did not pass`
      )
  )

export const CutoverLive = HttpApiBuilder.group(apiOf(CutoverGroup), "cutover", (handlers) =>
  handlers
    .handleRaw("sequencesSync", ({ request }) =>
      Effect.gen(function* () {
        yield* readControlBody(request)
        const sequences = yield* syncSequencesNow(yield* currentConfig)
        return HttpServerResponse.unsafeJson({ ok: true, action: "sequences-sync", sequences })
      })
    )
    .handleRaw("cutoverStep", ({ path, request }) =>
      Effect.gen(function* () {
        const run = cutoverStep(yield* currentConfig, path.step)
        if (run === undefined) {
          return yield* Effect.fail(notFound(`unknown cutover step "${path.step}" (${CUTOVER_STEPS.join(", ")})`))
        }
        yield* readControlBody(request)
        yield* Effect.logInfo(`API: cutover step ${path.step}`)
        const result = yield* run
        return HttpServerResponse.unsafeJson(result, { status: result.ok ? 200 : 409 })
      })
    )
)
