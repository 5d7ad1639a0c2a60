/**
 * kuvasz-streamer's mapping table (`GET /api/map`): every table of every source database group (read on the
 * group's first URL) with whether the mapping replicates it and whether its destination table is present, and
 * both sides' columns. Rebuilt in the background at start and whenever the mapping in effect changes, and on
 * `POST /api/map/refresh`. Until the first build finished, `status` is `starting` (the API answers
 * `not_ready`). A group whose source cannot be read is left out and its error kept; the others are listed.
 * Ids are positions in (group, schema, name) order, as kuvasz's: stable while the tables do not change.
 */
import { Context, Effect, Layer, Redacted, Ref, Stream, SubscriptionRef } from "effect"
import type { SourceGroup, TableMapping, TableMode, WalferryConfig } from "../config/Config.js"
import { openClient } from "../lib/openClient.js"
import { query } from "../lib/Sql.js"
import { LiveMapping } from "../pipeline/LiveMapping.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { destinationChanges } from "../target/DestinationChanges.js"

export interface ColumnInfo {
  readonly name: string
  readonly column_type: string
  readonly data_type_oid: number
  readonly primary_key: boolean
}

export interface MapEntry {
  readonly id: number
  readonly db_id: number
  readonly db_name: string
  readonly schema: string
  readonly name: string
  readonly type: TableMode
  readonly target: string
  readonly partitions_regex: string | null
  readonly partitions: ReadonlyArray<string>
  readonly replicated: boolean
  readonly present: boolean
  readonly source_columns: Readonly<Record<string, ColumnInfo>>
  readonly dest_columns: Readonly<Record<string, ColumnInfo>>
}

export interface CatalogState {
  readonly status: "starting" | "active"
  readonly entries: ReadonlyArray<MapEntry>
  /** per group that could not be read: why */
  readonly errors: Readonly<Record<string, string>>
  /** when its build started reading (epoch ms): a build that took long is not younger than what it read */
  readonly at: number
  /** destinationChanges() when its build started: a table walferry created since makes it out of date */
  readonly changes: number
}

interface ColumnRow {
  readonly schema: string
  readonly table: string
  readonly relkind: string
  readonly column: string | null
  readonly type: string | null
  readonly oid: number | null
  readonly pk: boolean | null
}

const COLUMNS_SQL = `
  select n.nspname as schema, c.relname as table, c.relkind::text as relkind, a.attname as column,
         format_type(a.atttypid, a.atttypmod) as type, a.atttypid::int as oid,
         coalesce(a.attnum = any (i.indkey), false) as pk
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  left join pg_index i on i.indrelid = c.oid and i.indisprimary
  where c.relkind in ('r', 'p') and c.relpersistence = 'p' and not c.relispartition
    and n.nspname not in ('pg_catalog', 'information_schema', 'walferry', 'walferry_watermarks')
    and n.nspname not like 'pg\\_%' and ($1::text is null or n.nspname = $1)
  order by 1, 2, a.attnum`

const PARTITIONS_SQL = `
  select pn.nspname as schema, p.relname as parent, c.relname as name
  from pg_inherits h join pg_class c on c.oid = h.inhrelid join pg_class p on p.oid = h.inhparent
  join pg_namespace pn on pn.oid = p.relnamespace where c.relkind = 'r' order by 3`

interface Table {
  readonly relkind: string
  readonly columns: Record<string, ColumnInfo>
}

const readTables = (url: Redacted.Redacted<string>, schema: string | null) =>
  Effect.acquireUseRelease(
    Effect.promise(() => openClient({ connectionString: Redacted.value(url), application_name: "walferry_api" })),
    (client) =>
      Effect.gen(function* () {
        const rows = yield* query<ColumnRow>(client, COLUMNS_SQL, [schema])
        const parts = yield* query<{ schema: string; parent: string; name: string }>(client, PARTITIONS_SQL)
        const tables = new Map<string, Table>()
        for (const r of rows) {
          const key = `${r.schema}.${r.table}`
          const t = tables.get(key) ?? { relkind: r.relkind, columns: {} }
          if (r.column !== null) {
            t.columns[r.column] = {
              name: r.column,
              column_type: r.type!,
              data_type_oid: r.oid!,
              primary_key: r.pk === true
            }
          }
          tables.set(key, t)
        }
        return { tables, partitions: parts }
      }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

const mappingOf = (group: SourceGroup, schema: string, name: string): TableMapping | undefined =>
  group.tables.find((t) => t.schema === schema && t.name === name)

/** the tables, or why they could not be read */
const attempt = (url: Redacted.Redacted<string>, schema: string | null) =>
  Effect.either(
    readTables(url, schema).pipe(
      Effect.catchAllDefect((d) => Effect.fail(d)),
      Effect.mapError((e) => redactSecrets(e instanceof Error ? e.message : String(e)))
    )
  )

const build = (config: WalferryConfig) =>
  Effect.gen(function* () {
    const at = Date.now()
    const changes = destinationChanges()
    const dest = yield* attempt(config.destination.url, config.destination.schema)
    const present = dest._tag === "Right" ? dest.right.tables : new Map<string, Table>()
    const errors: Record<string, string> = {}
    if (dest._tag === "Left") errors["destination"] = dest.left
    const entries: Array<Omit<MapEntry, "id">> = []
    for (const [index, group] of config.sources.entries()) {
      const url = group.urls[0]
      if (url === undefined) continue
      const read = yield* attempt(url.url, null)
      if (read._tag === "Left") {
        errors[group.database] = read.left
        continue
      }
      for (const [key, table] of read.right.tables) {
        const [schema, name] = [key.slice(0, key.indexOf(".")), key.slice(key.indexOf(".") + 1)]
        const mapping = mappingOf(group, schema, name)
        const target = mapping?.target ?? name
        const destTable = present.get(`${config.destination.schema}.${target}`)
        entries.push({
          db_id: group.id ?? index + 1,
          db_name: group.database,
          schema,
          name,
          type: mapping?.mode ?? "clone",
          target,
          partitions_regex: mapping?.partitionsRegex ?? null,
          partitions: read.right.partitions.filter((p) => p.schema === schema && p.parent === name).map((p) => p.name),
          replicated: mapping !== undefined,
          present: destTable !== undefined,
          source_columns: table.columns,
          dest_columns: destTable?.columns ?? {}
        })
      }
    }
    return { status: "active" as const, entries: entries.map((e, i) => ({ id: i + 1, ...e })), errors, at, changes }
  })

export interface MapCatalogShape {
  readonly state: Effect.Effect<CatalogState>
  /** rebuilds from the mapping in effect now and the databases */
  readonly refresh: Effect.Effect<CatalogState>
  /** the state, rebuilt first when older than `maxAgeMs` or walferry changed a destination table since (once active) */
  readonly fresh: (maxAgeMs: number) => Effect.Effect<CatalogState>
}

export class MapCatalog extends Context.Tag("walferry/MapCatalog")<MapCatalog, MapCatalogShape>() {}

export const MapCatalogLive = Layer.scoped(
  MapCatalog,
  Effect.gen(function* () {
    const live = yield* LiveMapping
    const state = yield* Ref.make<CatalogState>({ status: "starting", entries: [], errors: {}, at: 0, changes: 0 })
    const lock = yield* Effect.makeSemaphore(1)
    const refresh = lock.withPermits(1)(
      Effect.gen(function* () {
        const { config } = yield* SubscriptionRef.get(live)
        const next = yield* build(config)
        yield* Ref.set(state, next)
        return next
      })
    )
    yield* live.changes.pipe(
      Stream.runForEach(() => refresh),
      Effect.forkScoped
    )
    const fresh = (maxAgeMs: number) =>
      Effect.flatMap(Ref.get(state), (st) =>
        st.status === "active" && (Date.now() - st.at > maxAgeMs || st.changes !== destinationChanges())
          ? refresh
          : Effect.succeed(st)
      )
    return { state: Ref.get(state), refresh, fresh }
  })
)
