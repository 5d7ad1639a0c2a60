/**
 * kuvasz-streamer's `/api/db`, `/api/url` and `/api/tbl`: the database groups, source URLs and tables of the
 * mapping. Reads serve the mapping in effect (YAML: ids by position; database: the stored ids); writes
 * (`map_mode: database` only, token required) change the stored mapping and put it in effect at once: the
 * engine restarts its run with it (added tables join the publication and are copied online, removed ones leave
 * it and their writer stops). URLs are answered with their password masked, never in clear.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Redacted, Schema } from "effect"
import type { WalferryConfig } from "../../config/Config.js"
import { listDbs, listTbls, listUrls, run, type DbRow, type TblRow } from "../../mapping/MapStore.js"
import { changeStore, withStore } from "../../mapping/StoredMapping.js"
import { EngineStatus } from "../../pipeline/EngineStatus.js"
import { currentConfig, restartRun } from "../../pipeline/LiveMapping.js"
import { maskUrl, redactSecrets } from "../../telemetry/Logging.js"
import { BadRequest, Conflict, Failed, NotFound, notFound } from "../ApiError.js"
import { Authorization } from "../Auth.js"
import { Done } from "./ControlApi.js"
import { activeEntries } from "./MapApi.js"
import { apiOf } from "./Group.js"

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(63))
const Mode = Schema.Literal("clone", "append", "history")
const Id = Schema.Struct({ id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()) })

const Db = Schema.Struct({ id: Schema.Number, name: Schema.String }).annotations({ identifier: "Db" })
const DbInput = Schema.Struct({ name: Name })
const Url = Schema.Struct({
  id: Schema.Number,
  db_id: Schema.Number,
  db_name: Schema.String,
  sid: Schema.String,
  url: Schema.String.annotations({ description: "password masked" }),
  up: Schema.Boolean,
  error: Schema.NullOr(Schema.String)
}).annotations({ identifier: "Url" })
const UrlInput = Schema.Struct({
  db_id: Schema.Int,
  sid: Schema.optionalWith(Schema.String, { default: () => "" }),
  url: Name.pipe(Schema.maxLength(4096))
})
const Tbl = Schema.Struct({
  id: Schema.Number,
  db_id: Schema.Number,
  db_name: Schema.String,
  schema: Schema.String,
  name: Schema.String,
  type: Mode,
  target: Schema.String,
  partitions_regex: Schema.NullOr(Schema.String)
}).annotations({ identifier: "Tbl" })
const TblInput = Schema.Struct({
  db_id: Schema.Int,
  schema: Schema.optionalWith(Name, { default: () => "public" }),
  name: Name,
  type: Schema.optionalWith(Mode, { default: () => "clone" as const }),
  target: Schema.optional(Name),
  partitions_regex: Schema.optional(Schema.NullOr(Schema.String))
})

const Deleted = HttpApiSchema.Empty(200)

/** list, get, create, update (PUT) and delete of one resource */
const crud = <const R extends "db" | "url" | "tbl", A, I, In, InI>(
  resource: R,
  item: Schema.Schema<A, I>,
  input: Schema.Schema<In, InI>
) =>
  HttpApiGroup.make(resource)
    .add(
      HttpApiEndpoint.get("list", `/api/${resource}`)
        .addSuccess(Schema.Array(item))
        .addError(BadRequest)
        .addError(Failed)
    )
    .add(
      HttpApiEndpoint.get("get", `/api/${resource}/:id`)
        .setPath(Id)
        .addSuccess(item)
        .addError(BadRequest)
        .addError(NotFound)
        .addError(Failed)
    )
    .add(
      HttpApiEndpoint.post("create", `/api/${resource}`)
        .setPayload(input)
        .addSuccess(item)
        .addError(BadRequest)
        .addError(Conflict)
        .addError(Failed)
        .middleware(Authorization)
    )
    .add(
      HttpApiEndpoint.put("update", `/api/${resource}/:id`)
        .setPath(Id)
        .setPayload(input)
        .addSuccess(item)
        .addError(BadRequest)
        .addError(NotFound)
        .addError(Conflict)
        .addError(Failed)
        .middleware(Authorization)
    )
    .add(
      HttpApiEndpoint.del("remove", `/api/${resource}/:id`)
        .setPath(Id)
        .addSuccess(Deleted)
        .addError(BadRequest)
        .addError(NotFound)
        .addError(Conflict)
        .addError(Failed)
        .middleware(Authorization)
    )

export const DbGroup = crud("db", Db, DbInput).annotate(OpenApi.Description, "database groups of the mapping")
export const UrlGroup = crud("url", Url, UrlInput)
  .add(
    HttpApiEndpoint.post("restart", "/api/url/restart")
      .addSuccess(Done)
      .addError(BadRequest)
      .addError(Failed)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "restart replication: reread the stored mapping, every source reconnects")
  )
  .annotate(OpenApi.Description, "source URLs of the mapping (answered with the password masked)")
export const TblGroup = crud("tbl", Tbl, TblInput).annotate(OpenApi.Description, "tables of the mapping")

interface StoredUrl {
  readonly id: number
  readonly db_id: number
  readonly db_name: string
  readonly sid: string
  readonly url: string
}
interface Stored {
  readonly dbs: ReadonlyArray<DbRow>
  readonly urls: ReadonlyArray<StoredUrl>
  readonly tbls: ReadonlyArray<TblRow>
}

/** the YAML mapping with ids by position, as kuvasz numbers it */
const fromConfig = (config: WalferryConfig): Stored => {
  let url = 0
  let tbl = 0
  const groups = config.sources.map((g, i) => ({ g, id: i + 1 }))
  return {
    dbs: groups.map(({ g, id }) => ({ id, name: g.database })),
    urls: groups.flatMap(({ g, id }) =>
      g.urls.map((u) => ({ id: ++url, db_id: id, db_name: g.database, sid: u.sid, url: Redacted.value(u.url) }))
    ),
    tbls: groups.flatMap(({ g, id }) =>
      g.tables.map((t) => ({
        id: ++tbl,
        db_id: id,
        db_name: g.database,
        schema: t.schema,
        name: t.name,
        type: t.mode,
        target: t.target,
        partitions_regex: t.partitionsRegex ?? null
      }))
    )
  }
}

const stored = Effect.gen(function* () {
  yield* activeEntries
  const config = yield* currentConfig
  if (config.mapMode !== "database") return fromConfig(config)
  return yield* withStore((c) => Effect.all({ dbs: listDbs(c), urls: listUrls(c), tbls: listTbls(c) }))
})

/** a URL as answered: masked, with whether its source streams and its last error */
const showUrls = (urls: ReadonlyArray<StoredUrl>) =>
  Effect.gen(function* () {
    const sources = yield* Effect.flatMap(EngineStatus, (s) => s.sources)
    return urls.map((u) => {
      const s = sources.find((x) => x.database === u.db_name && x.sid === u.sid)
      return {
        ...u,
        url: maskUrl(u.url),
        up: s?.state === "streaming",
        error: s?.error === undefined ? null : redactSecrets(s.error)
      }
    })
  })

const one = <A extends { readonly id: number }>(rows: ReadonlyArray<A>, id: number, what: string) => {
  const found = rows.find((r) => r.id === id)
  return found === undefined ? Effect.fail(notFound(`no ${what} ${id}`)) : Effect.succeed(found)
}

/** the row the statement returned, or 404 */
const returned = (what: string, id: number) => (rows: ReadonlyArray<{ readonly id: number }>) =>
  rows[0] === undefined ? Effect.fail(notFound(`no ${what} ${id}`)) : Effect.succeed(rows[0].id)

export const DbLive = HttpApiBuilder.group(apiOf(DbGroup), "db", (h) =>
  h
    .handle("list", () => Effect.map(stored, (m) => m.dbs))
    .handle("get", ({ path }) => Effect.flatMap(stored, (m) => one(m.dbs, path.id, "db")))
    .handle("create", ({ payload }) =>
      changeStore((c) =>
        run<DbRow>(c, "insert into walferry.map_db (name) values ($1) returning id, name", [payload.name])
      ).pipe(Effect.map((rows) => rows[0]!))
    )
    .handle("update", ({ path, payload }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<DbRow>(c, "update walferry.map_db set name = $2 where id = $1 returning id, name", [
            path.id,
            payload.name
          ]),
          (rows) => one(rows, path.id, "db")
        )
      )
    )
    .handle("remove", ({ path }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<{ id: number }>(c, "delete from walferry.map_db where id = $1 returning id", [path.id]),
          returned("db", path.id)
        )
      ).pipe(Effect.asVoid)
    )
)

const urlById = (id: number) =>
  Effect.flatMap(stored, (m) => Effect.flatMap(showUrls(m.urls), (urls) => one(urls, id, "url")))

export const UrlLive = HttpApiBuilder.group(apiOf(UrlGroup), "url", (h) =>
  h
    .handle("list", () => Effect.flatMap(stored, (m) => showUrls(m.urls)))
    .handle("get", ({ path }) => urlById(path.id))
    .handle("create", ({ payload }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<{ id: number }>(c, "insert into walferry.map_url (db_id, sid, url) values ($1, $2, $3) returning id", [
            payload.db_id,
            payload.sid,
            payload.url
          ]),
          returned("url", 0)
        )
      ).pipe(Effect.flatMap(urlById))
    )
    .handle("update", ({ path, payload }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<{ id: number }>(c, "update walferry.map_url set sid = $2, url = $3 where id = $1 returning id", [
            path.id,
            payload.sid,
            payload.url
          ]),
          returned("url", path.id)
        )
      ).pipe(Effect.flatMap(urlById))
    )
    .handle("remove", ({ path }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<{ id: number }>(c, "delete from walferry.map_url where id = $1 returning id", [path.id]),
          returned("url", path.id)
        )
      ).pipe(Effect.asVoid)
    )
    .handle("restart", () =>
      Effect.gen(function* () {
        yield* activeEntries
        const config = yield* currentConfig
        if (config.mapMode === "database") yield* changeStore(() => Effect.void)
        yield* restartRun
        yield* Effect.logInfo("API: replication restart")
        return { ok: true as const, action: "restart" }
      })
    )
)

const tblById = (id: number) => Effect.flatMap(stored, (m) => one(m.tbls, id, "tbl"))

const tblValues = (p: typeof TblInput.Type) => [
  p.db_id,
  p.schema,
  p.name,
  p.type,
  p.target ?? p.name,
  p.partitions_regex ?? null
]

export const TblLive = HttpApiBuilder.group(apiOf(TblGroup), "tbl", (h) =>
  h
    .handle("list", () => Effect.map(stored, (m) => m.tbls))
    .handle("get", ({ path }) => tblById(path.id))
    .handle("create", ({ payload }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<{ id: number }>(
            c,
            `insert into walferry.map_tbl (db_id, schema, name, type, target, partitions_regex)
             values ($1, $2, $3, $4, $5, $6) returning id`,
            tblValues(payload)
          ),
          returned("tbl", 0)
        )
      ).pipe(Effect.flatMap(tblById))
    )
    .handle("update", ({ path, payload }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<{ id: number }>(
            c,
            `update walferry.map_tbl set db_id = $2, schema = $3, name = $4, type = $5, target = $6, partitions_regex = $7
             where id = $1 returning id`,
            [path.id, ...tblValues(payload)]
          ),
          returned("tbl", path.id)
        )
      ).pipe(Effect.flatMap(tblById))
    )
    .handle("remove", ({ path }) =>
      changeStore((c) =>
        Effect.flatMap(
          run<{ id: number }>(c, "delete from walferry.map_tbl where id = $1 returning id", [path.id]),
          returned("tbl", path.id)
        )
      ).pipe(Effect.asVoid)
    )
)
