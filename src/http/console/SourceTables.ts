/**
 * `GET /api/catalog`: every table found on each source database group (its first URL), with a row estimate, whether
 * it has a primary key and its replica identity, and, when it is mapped, its target and mode. Partitions are listed
 * under their root only (walferry publishes through the root). A source that cannot be reached gives its reason
 * instead of failing the request; no URL or password is returned.
 */
import { Effect, Redacted } from "effect"
import { connect } from "../../cli/CheckConnect.js"
import type { WalferryConfig } from "../../config/Config.js"
import { query } from "../../lib/Sql.js"
import { redactSecrets } from "../../telemetry/Logging.js"

const TABLES_SQL = `
  select n.nspname as schema, c.relname as name, c.relkind,
    c.relreplident as "replicaIdentity",
    exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary) as "hasPrimaryKey",
    greatest(c.reltuples::float8, coalesce(s.n_live_tup, 0)::float8, 0) as "estimatedRows"
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  left join pg_stat_user_tables s on s.relid = c.oid
  where c.relkind in ('r', 'p') and c.relpersistence = 'p' and not c.relispartition
    and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
    and n.nspname <> 'walferry'
  order by 1, 2`

export interface SourceTableRow {
  readonly schema: string
  readonly name: string
  readonly relkind: "r" | "p"
  readonly replicaIdentity: string
  readonly hasPrimaryKey: boolean
  readonly estimatedRows: number
}

export interface CatalogTable extends SourceTableRow {
  readonly replicated: boolean
  readonly target: string | null
  readonly mode: string | null
}

export interface CatalogGroup {
  readonly database: string
  /** map_mode database: the group's id in the stored mapping (`db_id` of /api/tbl), null otherwise */
  readonly dbId: number | null
  readonly sids: ReadonlyArray<string>
  readonly tables: ReadonlyArray<CatalogTable>
  /** why the source could not be listed, null when it was */
  readonly problem: string | null
  /** mapped tables not found on the source */
  readonly missing: ReadonlyArray<{ readonly source: string; readonly target: string; readonly mode: string }>
}

/** the tables of the database at `url` (partitions under their root), estimates rounded */
export const listSourceTables = (url: Redacted.Redacted<string>) =>
  Effect.scoped(Effect.flatMap(connect(url), (c) => query<SourceTableRow>(c, TABLES_SQL))).pipe(
    Effect.map((rows) => rows.map((r) => ({ ...r, estimatedRows: Math.round(Number(r.estimatedRows)) })))
  )

export const sourceCatalog = (config: WalferryConfig) =>
  Effect.forEach(
    config.sources,
    (g) =>
      Effect.gen(function* () {
        const url = g.urls[0]?.url ?? Redacted.make("")
        const listed = yield* Effect.either(listSourceTables(url))
        const mapped = new Map(g.tables.map((t) => [`${t.schema}.${t.name}`, t] as const))
        const rows = listed._tag === "Right" ? listed.right : []
        const found = new Set(rows.map((r) => `${r.schema}.${r.name}`))
        return {
          database: g.database,
          dbId: g.id ?? null,
          sids: g.urls.map((u) => u.sid),
          problem: listed._tag === "Left" ? redactSecrets(listed.left.message) : null,
          tables: rows.map((r): CatalogTable => {
            const m = mapped.get(`${r.schema}.${r.name}`)
            return {
              ...r,
              replicated: m !== undefined,
              target: m?.target ?? null,
              mode: m?.mode ?? null
            }
          }),
          missing:
            listed._tag === "Left"
              ? []
              : g.tables
                  .filter((t) => !found.has(`${t.schema}.${t.name}`))
                  .map((t) => ({ source: `${t.schema}.${t.name}`, target: t.target, mode: t.mode }))
        } satisfies CatalogGroup
      }),
    { concurrency: 4 }
  )
