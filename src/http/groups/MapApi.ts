/**
 * kuvasz-streamer's mapping table: `/api/map` lists every source table of every group with whether it is
 * replicated and present on the destination; `create` makes its destination table from the source definition;
 * `clone` starts replicating it (creates the destination table, adds it to the stored mapping, which puts it
 * in effect: the table joins the publication, is copied online and streams — no restart); `refresh` rebuilds
 * the list (and rereads the stored mapping). Answers `not_ready` (400) until the list was first built.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Redacted, Schema } from "effect"
import type { TableMapping } from "../../config/Config.js"
import { DEFAULT_HISTORY_COLUMNS } from "../../config/KuvaszMap.js"
import { MapCatalog, type MapEntry as Entry } from "../../mapping/MapCatalog.js"
import { run } from "../../mapping/MapStore.js"
import { changeStore } from "../../mapping/StoredMapping.js"
import { currentConfig } from "../../pipeline/LiveMapping.js"
import { describeSourceTable } from "../../source/SourceCatalog.js"
import { openClient } from "../../lib/openClient.js"
import { ensureTargetTable } from "../../target/TargetCreator.js"
import { BadRequest, Conflict, Failed, NotFound, notFound } from "../ApiError.js"
import { Authorization } from "../Auth.js"
import { apiOf } from "./Group.js"

const Column = Schema.Struct({
  name: Schema.String,
  column_type: Schema.String,
  data_type_oid: Schema.Number,
  primary_key: Schema.Boolean
})
const Mode = Schema.Literal("clone", "append", "history")

export const MapEntry = Schema.Struct({
  id: Schema.Number,
  db_id: Schema.Number,
  db_name: Schema.String,
  schema: Schema.String,
  name: Schema.String,
  type: Mode,
  target: Schema.String,
  partitions_regex: Schema.NullOr(Schema.String),
  partitions: Schema.Array(Schema.String),
  replicated: Schema.Boolean,
  present: Schema.Boolean,
  source_columns: Schema.Record({ key: Schema.String, value: Column }),
  dest_columns: Schema.Record({ key: Schema.String, value: Column })
}).annotations({ identifier: "MapEntry" })

const Id = Schema.Struct({ id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()) })

export const MapGroup = HttpApiGroup.make("map")
  .add(
    HttpApiEndpoint.get("list", "/api/map")
      .addSuccess(Schema.Array(MapEntry))
      .addError(BadRequest)
      .annotate(OpenApi.Summary, "every source table of every group: replicated? present on the destination?")
  )
  .add(
    HttpApiEndpoint.post("refresh", "/api/map/refresh")
      .addSuccess(Schema.Array(MapEntry))
      .addError(BadRequest)
      .addError(Failed)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "reread the stored mapping and both databases' tables")
  )
  .add(
    HttpApiEndpoint.get("get", "/api/map/:id")
      .setPath(Id)
      .addSuccess(MapEntry)
      .addError(BadRequest)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "one entry")
  )
  .add(
    HttpApiEndpoint.post("create", "/api/map/:id/create")
      .setPath(Id)
      .addSuccess(MapEntry)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Failed)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "create the destination table from the source definition (400 conflict if present)")
  )
  .add(
    HttpApiEndpoint.post("clone", "/api/map/:id/clone")
      .setPath(Id)
      .setUrlParams(
        Schema.Struct({
          type: Schema.optional(Mode),
          target: Schema.optional(Schema.String.pipe(Schema.minLength(1))),
          partitions_regex: Schema.optional(Schema.String.pipe(Schema.minLength(1)))
        })
      )
      .addSuccess(MapEntry)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(Failed)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "replicate this table from now on: create, copy online, stream (no restart)")
  )

const notReady = new BadRequest({ code: "not_ready", error: "server not ready: starting" })

/** the mapping table, or not_ready while it is first built */
export const activeEntries = Effect.gen(function* () {
  const state = yield* Effect.flatMap(MapCatalog, (c) => c.fresh(1000))
  if (state.status !== "active") return yield* Effect.fail(notReady)
  return state.entries
})

const entry = (id: number) =>
  Effect.flatMap(activeEntries, (entries) => {
    const found = entries.find((e) => e.id === id)
    return found === undefined ? Effect.fail(notFound(`no map entry ${id}`)) : Effect.succeed(found)
  })

const failed = (e: { readonly message: string }) => new Failed({ code: "failed", error: e.message })

/** creates the destination table of `e` as `mapping` says, from the source's definition */
const createTarget = (e: Entry, mapping: TableMapping) =>
  Effect.gen(function* () {
    const config = yield* currentConfig
    const group = config.sources.find((g) => g.database === e.db_name)
    const url = group?.urls[0]
    if (group === undefined || url === undefined) return yield* Effect.fail(notFound(`no source for ${e.db_name}`))
    const open = (u: Redacted.Redacted<string>) =>
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => openClient({ connectionString: Redacted.value(u), application_name: "walferry_api" }),
          catch: (c) => failed(c instanceof Error ? c : new Error(String(c)))
        }),
        (c) => Effect.promise(() => c.end().catch(() => undefined))
      )
    yield* Effect.scoped(
      Effect.gen(function* () {
        const src = yield* open(url.url)
        const source = yield* describeSourceTable(src, e.schema, e.name).pipe(Effect.mapError(failed))
        if (source === undefined) return yield* Effect.fail(notFound(`${e.schema}.${e.name} is gone from the source`))
        const dest = yield* open(config.destination.url)
        const multi = group.urls.length > 1
        const defaults = config.tableDefaults
        const full: TableMapping =
          defaults === undefined
            ? mapping
            : {
                ...mapping,
                firstVersionStart: defaults.firstVersionStart,
                addPositionColumn: defaults.addPositionColumn
              }
        yield* ensureTargetTable(dest, config.destination.schema, full, source, multi).pipe(Effect.mapError(failed))
      })
    )
  })

const mappingOf = (e: Entry, mode = e.type, target = e.target, regex = e.partitions_regex): TableMapping => ({
  schema: e.schema,
  name: e.name,
  mode,
  target,
  partitionsRegex: regex ?? undefined,
  autoCreate: true,
  history: DEFAULT_HISTORY_COLUMNS
})

const refreshed = (id: number) =>
  Effect.gen(function* () {
    const state = yield* Effect.flatMap(MapCatalog, (c) => c.refresh)
    const found = state.entries.find((x) => x.id === id)
    return found ?? (yield* Effect.fail(notFound(`no map entry ${id} after refresh`)))
  })

const create = (id: number) =>
  Effect.gen(function* () {
    const e = yield* entry(id)
    if (e.present) {
      return yield* Effect.fail(new BadRequest({ code: "conflict", error: `destination table ${e.target} is present` }))
    }
    yield* createTarget(e, mappingOf(e))
    yield* Effect.logInfo(`API: created destination table ${e.target} for ${e.schema}.${e.name}`)
    return yield* refreshed(id)
  })

const clone = (
  id: number,
  params: {
    readonly type?: Entry["type"] | undefined
    readonly target?: string | undefined
    readonly partitions_regex?: string | undefined
  }
) =>
  Effect.gen(function* () {
    const e = yield* entry(id)
    if (e.replicated)
      return yield* Effect.fail(
        new Conflict({ code: "conflict", error: `${e.schema}.${e.name} is already replicated` })
      )
    if (e.partitions.length > 0 && params.partitions_regex === undefined) {
      return yield* Effect.fail(
        new BadRequest({
          code: "cannot_clone_partitioned_table",
          error: `${e.schema}.${e.name} is partitioned: give partitions_regex`
        })
      )
    }
    const mapping = mappingOf(e, params.type ?? "clone", params.target ?? e.name, params.partitions_regex ?? null)
    yield* createTarget(e, mapping)
    yield* changeStore((client) =>
      Effect.gen(function* () {
        const [db] = yield* run<{ id: number }>(client, "select id from walferry.map_db where name = $1", [e.db_name])
        if (db === undefined) return yield* Effect.fail(notFound(`database ${e.db_name} is not in the stored mapping`))
        yield* run(
          client,
          `insert into walferry.map_tbl (db_id, schema, name, type, target, partitions_regex) values ($1, $2, $3, $4, $5, $6)`,
          [db.id, mapping.schema, mapping.name, mapping.mode, mapping.target, mapping.partitionsRegex ?? null]
        )
      })
    )
    yield* Effect.logInfo(`API: replicating ${e.schema}.${e.name} into ${mapping.target} (${mapping.mode})`)
    return yield* refreshed(id)
  })

export const MapLive = HttpApiBuilder.group(apiOf(MapGroup), "map", (handlers) =>
  handlers
    .handle("list", () => activeEntries)
    .handle("get", ({ path }) => entry(path.id))
    .handle("refresh", () =>
      Effect.gen(function* () {
        const config = yield* currentConfig
        if (config.mapMode === "database") yield* changeStore(() => Effect.void)
        return (yield* Effect.flatMap(MapCatalog, (c) => c.refresh)).entries
      })
    )
    .handle("create", ({ path }) => create(path.id))
    .handle("clone", ({ path, urlParams }) => clone(path.id, urlParams))
)
