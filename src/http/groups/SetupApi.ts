/**
 * The console's setup wizard: `GET /api/setup` (whether the mapping is empty and can be set up here, the
 * destination masked), `POST /api/setup/check` (the preflight of a source URL: `walferry check`'s findings and the
 * source's tables) and `POST /api/setup/start` (store the source and the picked tables and start them). POSTs need
 * the token and `map_mode: database` (405 otherwise, before routing); a password is never answered.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Redacted, Schema } from "effect"
import { currentConfig } from "../../pipeline/LiveMapping.js"
import { maskUrl } from "../../telemetry/Logging.js"
import { BadRequest, Conflict, Failed } from "../ApiError.js"
import { Authorization } from "../Auth.js"
import { preflight, startSetup } from "../console/Setup.js"
import { apiOf } from "./Group.js"

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(63))
const Mode = Schema.Literal("clone", "append", "history")

const SetupTable = Schema.Struct({
  schema: Schema.optionalWith(Name, { default: () => "public" }),
  name: Name,
  mode: Schema.optionalWith(Mode, { default: () => "clone" as const }),
  target: Schema.optional(Name)
})

const source = {
  url: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096)).annotations({
    description: "postgres://user@host:port/database (the password may be given apart)"
  }),
  password: Schema.optional(Schema.String.pipe(Schema.maxLength(1024))),
  database: Schema.optional(Name).annotations({ description: "group name, default: the URL's database" }),
  sid: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(63)), { default: () => "" })
}

const CheckInput = Schema.Struct({
  ...source,
  tables: Schema.optionalWith(Schema.Array(SetupTable), { default: () => [] })
})
const StartInput = Schema.Struct({ ...source, tables: Schema.Array(SetupTable).pipe(Schema.minItems(1)) })

const SetupState = Schema.Struct({
  needed: Schema.Boolean,
  mapMode: Schema.Literal("yaml", "database"),
  destination: Schema.String.annotations({ description: "password masked" }),
  sources: Schema.Number,
  tables: Schema.Number
}).annotations({ identifier: "SetupState" })

const Finding = Schema.Struct({
  severity: Schema.Literal("error", "warning", "info"),
  side: Schema.Literal("source", "destination"),
  table: Schema.NullOr(Schema.String),
  message: Schema.String
})
const SourceTable = Schema.Struct({
  schema: Schema.String,
  name: Schema.String,
  relkind: Schema.String,
  replicaIdentity: Schema.String,
  hasPrimaryKey: Schema.Boolean,
  estimatedRows: Schema.Number
})
const Preflight = Schema.Struct({
  database: Schema.String,
  url: Schema.String.annotations({ description: "password masked" }),
  destination: Schema.String.annotations({ description: "password masked" }),
  ready: Schema.Boolean,
  findings: Schema.Array(Finding),
  tables: Schema.Array(SourceTable),
  problem: Schema.NullOr(Schema.String)
}).annotations({ identifier: "Preflight" })
const Started = Schema.Struct({
  ok: Schema.Literal(true),
  database: Schema.String,
  url: Schema.String,
  tables: Schema.Number
})

export const SetupGroup = HttpApiGroup.make("setup")
  .add(
    HttpApiEndpoint.get("state", "/api/setup")
      .addSuccess(SetupState)
      .annotate(OpenApi.Summary, "whether the mapping is empty and the setup wizard applies (map_mode: database)")
  )
  .add(
    HttpApiEndpoint.post("check", "/api/setup/check")
      .setPayload(CheckInput)
      .addSuccess(Preflight)
      .addError(BadRequest)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "preflight of a source: walferry check's findings (each with its fix) and its tables")
  )
  .add(
    HttpApiEndpoint.post("start", "/api/setup/start")
      .setPayload(StartInput)
      .addSuccess(Started)
      .addError(BadRequest)
      .addError(Conflict)
      .addError(Failed)
      .middleware(Authorization)
      .annotate(
        OpenApi.Summary,
        "store the source and the picked tables (empty mapping only): they are copied, then stream"
      )
  )
  .annotate(OpenApi.Description, "the console's setup wizard")

export const SetupLive = HttpApiBuilder.group(apiOf(SetupGroup), "setup", (h) =>
  h
    .handle("state", () =>
      Effect.map(currentConfig, (config) => {
        const tables = config.sources.reduce((n, g) => n + g.tables.length, 0)
        return {
          needed: config.mapMode === "database" && tables === 0,
          mapMode: config.mapMode === "database" ? ("database" as const) : ("yaml" as const),
          destination: maskUrl(Redacted.value(config.destination.url)),
          sources: config.sources.length,
          tables
        }
      })
    )
    .handle("check", ({ payload }) =>
      Effect.flatMap(currentConfig, (config) => preflight(config, payload, payload.tables))
    )
    .handle("start", ({ payload }) => startSetup(payload, payload.tables))
)
