/**
 * Destination catalog introspection: the columns and keys of a destination table, which decide what a
 * change can write (columns present on both sides), how UPDATE/DELETE find their row (key columns) and
 * whether a replayed INSERT is skipped (a PK or unique key for ON CONFLICT DO NOTHING).
 */
import { Effect } from "effect"
import type pg from "pg"
import { formatTypeSql, query, type QueryFailed } from "../lib/Sql.js"

export interface TargetColumn {
  readonly name: string
  /** format_type, schema-qualified outside pg_catalog: "numeric(10,2)", "integer[]", "public.mood" */
  readonly typeName: string
  readonly typeOid: number
  readonly notNull: boolean
  /** a DEFAULT expression, an identity or a generated column: an INSERT may leave it out */
  readonly hasDefault: boolean
  /** GENERATED ALWAYS AS (...) STORED: cannot be written */
  readonly isGenerated: boolean
}

export interface TargetTable {
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly relkind: "r" | "p"
  /** user columns in attnum order */
  readonly columns: ReadonlyArray<TargetColumn>
  /** primary key columns in key order, [] without a primary key */
  readonly primaryKey: ReadonlyArray<string>
  /** the other unique keys usable as ON CONFLICT arbiters (valid, immediate, not partial, plain columns), in key order */
  readonly uniqueKeys: ReadonlyArray<ReadonlyArray<string>>
  /** a column named `sid`: the source id is written into it and added to every key match */
  readonly hasSid: boolean
}

const RELATION_SQL = `
  select c.oid, n.nspname as schema, c.relname as name, c.relkind
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`

const COLUMNS_SQL = `
  select a.attname as name, ${formatTypeSql("a.atttypid", "a.atttypmod")} as "typeName", a.atttypid as "typeOid",
    a.attnotnull as "notNull", a.atthasdef or a.attidentity <> '' or a.attgenerated <> '' as "hasDefault",
    a.attgenerated <> '' as "isGenerated"
  from pg_attribute a
  where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
  order by a.attnum`

const KEYS_SQL = `
  select i.indisprimary as "primary", array_agg(a.attname::text order by k.ord) as columns
  from pg_index i
  cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = $1
    and (i.indisprimary or (i.indisunique and i.indisvalid and i.indimmediate and i.indpred is null and i.indexprs is null))
  group by i.indexrelid, i.indisprimary
  order by i.indisprimary desc, i.indexrelid`

interface RelationRow {
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly relkind: "r" | "p"
}

interface KeyRow {
  readonly primary: boolean
  readonly columns: Array<string>
}

/** the destination table or partitioned table `schema.name`, undefined when there is none */
export const describeTargetTable = (
  client: pg.ClientBase,
  schema: string,
  name: string
): Effect.Effect<TargetTable | undefined, QueryFailed> =>
  Effect.gen(function* () {
    const [rel] = yield* query<RelationRow>(client, RELATION_SQL, [schema, name])
    if (rel === undefined) return undefined
    const columns = yield* query<TargetColumn>(client, COLUMNS_SQL, [rel.oid])
    const keys = yield* query<KeyRow>(client, KEYS_SQL, [rel.oid])
    return {
      oid: rel.oid,
      schema: rel.schema,
      name: rel.name,
      relkind: rel.relkind,
      columns,
      primaryKey: keys.find((k) => k.primary)?.columns ?? [],
      uniqueKeys: keys.filter((k) => !k.primary).map((k) => k.columns),
      hasSid: columns.some((c) => c.name === "sid")
    }
  })
