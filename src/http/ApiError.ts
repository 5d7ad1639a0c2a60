/**
 * The errors of the HTTP API, one Schema class per status: each is part of the endpoint definitions (so the
 * OpenAPI document lists them) and is encoded as JSON `{ code, error, ...details }`, kuvasz-streamer's shape.
 * `errorResponse` renders the same shape for the answers given before routing (401, 404, 405, CORS, 500).
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { ParseResult, Schema } from "effect"

const base = { code: Schema.String, error: Schema.String }

export class BadRequest extends Schema.Class<BadRequest>("BadRequest")(
  { ...base, field: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({ status: 400, description: "invalid input (`field` names it), or `not_ready`" })
) {}

export class Unauthorized extends Schema.Class<Unauthorized>("Unauthorized")(
  base,
  HttpApiSchema.annotations({ status: 401, description: "missing or wrong bearer token, or no api.token set" })
) {}

export class NotFound extends Schema.Class<NotFound>("NotFound")(
  base,
  HttpApiSchema.annotations({ status: 404, description: "unknown id, table or route" })
) {}

export class NotAllowed extends Schema.Class<NotAllowed>("NotAllowed")(
  base,
  HttpApiSchema.annotations({ status: 405, description: "the mapping is read-only (map_mode: yaml)" })
) {}

export class Conflict extends Schema.Class<Conflict>("Conflict")(
  base,
  HttpApiSchema.annotations({ status: 409, description: "refused in the current state" })
) {}

export class Failed extends Schema.Class<Failed>("Failed")(
  base,
  HttpApiSchema.annotations({ status: 500, description: "a database could not be read or changed" })
) {}

export const NotReadyEntry = Schema.Struct({
  kind: Schema.Literal("source", "table"),
  name: Schema.String,
  state: Schema.String,
  reason: Schema.String
})

export class Unavailable extends Schema.Class<Unavailable>("Unavailable")(
  { ...base, notReady: Schema.Array(NotReadyEntry) },
  HttpApiSchema.annotations({ status: 503, description: "not ready: which source or table, and why" })
) {}

const classes = [BadRequest, Unauthorized, NotFound, NotAllowed, Conflict, Failed, Unavailable] as const

export type ApiFailure = InstanceType<(typeof classes)[number]>

/**
 * the response for one of these errors, or undefined for anything else. Rendered here rather than by HttpApi,
 * whose error encoding matches classes by shape (and these share theirs), so the status would be the first's.
 */
export const renderFailure = (e: unknown): HttpServerResponse.HttpServerResponse | undefined => {
  for (const c of classes) {
    if (e instanceof c) {
      return HttpServerResponse.unsafeJson(Schema.encodeSync(c as Schema.Schema<unknown, object>)(e), {
        status: HttpApiSchema.getStatusError(c)
      })
    }
  }
  return undefined
}

export const errorResponse = (
  status: number,
  code: string,
  error: string,
  details?: Readonly<Record<string, unknown>>
): HttpServerResponse.HttpServerResponse => HttpServerResponse.unsafeJson({ code, error, ...details }, { status })

export const badInput = (field: string, message: string): BadRequest =>
  new BadRequest({ code: "invalid_input", error: `${field}: ${message}`, field })

export const notFound = (message: string): NotFound => new NotFound({ code: "not_found", error: message })

export const conflict = (code: string, message: string): Conflict => new Conflict({ code, error: message })

export const failed = (message: string): Failed => new Failed({ code: "failed", error: message })

/** the first issue of a failed decode as `invalid_input` naming its field (the body itself when at the root) */
export const fromParseIssue = (issue: ParseResult.ParseIssue, root = "body"): BadRequest => {
  const [first] = ParseResult.ArrayFormatter.formatIssueSync(issue)
  const field = first === undefined || first.path.length === 0 ? root : String(first.path[0])
  return badInput(field, first?.message ?? "invalid")
}
