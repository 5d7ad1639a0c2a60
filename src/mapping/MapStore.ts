/**
 * The mapping of `map_mode: database`: kuvasz-streamer's db / url / tbl tables, kept in the destination's
 * `walferry` schema (not a local file), so it survives container restarts and every walferry process using
 * that destination reads the same mapping. Created on first use, under the destination-wide DDL lock.
 * Foreign keys are enforced: a database group still referenced by a URL or a table cannot be deleted.
 * Values are always query parameters; URLs are stored as given and only ever returned masked.
 */
import { Data, Effect, Redacted, type Scope } from "effect"
import type pg from "pg"
import type { SourceGroup, TableMapping, TableMode, WalferryConfig } from "../config/Config.js"
import { DEFAULT_HISTORY_COLUMNS } from "../config/KuvaszMap.js"
import { openClient } from "../lib/openClient.js"
import { query, type QueryFailed } from "../lib/Sql.js"
import { redactSecrets } from "../telemetry/Logging.js"

export class StoreFailed extends Data.TaggedError("StoreFailed")<{
  readonly message: string
  /** SQLSTATE when the database refused the change */
  readonly code: string | undefined
}> {}

export interface DbRow {
  readonly id: number
  readonly name: string
}
export interface UrlRow {
  readonly id: number
  readonly db_id: number
  readonly db_name: string
  readonly sid: string
  readonly url: string
}
export interface TblRow {
  readonly id: number
  readonly db_id: number
  readonly db_name: string
  readonly schema: string
  readonly name: string
  readonly type: TableMode
  readonly target: string
  readonly partitions_regex: string | null
}

const DDL = `
  create schema if not exists walferry;
  create table if not exists walferry.map_db (id serial primary key, name text not null unique);
  create table if not exists walferry.map_url (
    id serial primary key,
    db_id integer not null references walferry.map_db (id),
    sid text not null default '',
    url text not null,
    unique (db_id, sid));
  create table if not exists walferry.map_tbl (
    id serial primary key,
    db_id integer not null references walferry.map_db (id),
    schema text not null default 'public',
    name text not null,
    type text not null default 'clone' check (type in ('clone', 'append', 'history')),
    target text not null,
    partitions_regex text,
    unique (db_id, schema, name))`

const storeFailed = (e: QueryFailed | Error) =>
  new StoreFailed({
    message: redactSecrets(e.message),
    code: "code" in e && typeof e.code === "string" ? e.code : undefined
  })

/** a destination connection with the mapping tables in place, closed with the scope */
export const openStore = (config: WalferryConfig): Effect.Effect<pg.Client, StoreFailed, Scope.Scope> =>
  Effect.gen(function* () {
    const client = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          openClient({ connectionString: Redacted.value(config.destination.url), application_name: "walferry_api" }),
        catch: (e) => storeFailed(e instanceof Error ? e : new Error(String(e)))
      }),
      (c) => Effect.promise(() => c.end().catch(() => undefined))
    )
    const exists = yield* run<{ ok: boolean }>(client, "select to_regclass('walferry.map_tbl') is not null as ok")
    if (exists[0]?.ok !== true)
      yield* transaction(
        client,
        run(client, "select pg_advisory_xact_lock(hashtext('walferry.ddl'))").pipe(Effect.zipRight(run(client, DDL)))
      )
    return client
  })

export const run = <R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  sql: string,
  params: ReadonlyArray<unknown> = []
) => query<R>(client, sql, params).pipe(Effect.mapError(storeFailed))

export const transaction = <A, E, R>(client: pg.ClientBase, body: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    yield* run(client, "begin")
    const result = yield* body
    yield* run(client, "commit")
    return result
  }).pipe(Effect.onError(() => Effect.ignore(run(client, "rollback"))))

const URLS = `select u.id, u.db_id, d.name as db_name, u.sid, u.url
  from walferry.map_url u join walferry.map_db d on d.id = u.db_id`
const TBLS = `select t.id, t.db_id, d.name as db_name, t.schema, t.name, t.type, t.target, t.partitions_regex
  from walferry.map_tbl t join walferry.map_db d on d.id = t.db_id`

export const listDbs = (c: pg.ClientBase) => run<DbRow>(c, "select id, name from walferry.map_db order by id")
export const listUrls = (c: pg.ClientBase) => run<UrlRow>(c, `${URLS} order by u.id`)
export const listTbls = (c: pg.ClientBase) => run<TblRow>(c, `${TBLS} order by t.id`)

/** a table of the stored mapping as the engine maps it: the options not stored come from `table_defaults` */
export const storedTable = (
  config: WalferryConfig,
  t: Pick<TblRow, "schema" | "name" | "type" | "target" | "partitions_regex">
): TableMapping => ({
  schema: t.schema,
  name: t.name,
  mode: t.type,
  target: t.target,
  partitionsRegex: t.partitions_regex ?? undefined,
  autoCreate: config.tableDefaults?.autoCreate ?? true,
  ...(config.tableDefaults === undefined
    ? {}
    : {
        firstVersionStart: config.tableDefaults.firstVersionStart,
        addPositionColumn: config.tableDefaults.addPositionColumn
      }),
  history: DEFAULT_HISTORY_COLUMNS
})

/** the source groups of the stored mapping: every group with at least one URL, in id order */
export const loadGroups = (c: pg.ClientBase, config: WalferryConfig) =>
  Effect.gen(function* () {
    const [dbs, urls, tbls] = [yield* listDbs(c), yield* listUrls(c), yield* listTbls(c)]
    return dbs.flatMap((d): Array<SourceGroup> => {
      const mine = urls.filter((u) => u.db_id === d.id)
      if (mine.length === 0) return []
      return [
        {
          id: d.id,
          database: d.name,
          urls: mine.map((u) => ({ url: Redacted.make(u.url), sid: u.sid })),
          tables: tbls.filter((t) => t.db_id === d.id).map((t) => storedTable(config, t))
        }
      ]
    })
  })
