/**
 * Source catalog introspection: what a published table looks like (columns, keys, replica identity,
 * leaf partitions) and the user-defined types its columns need, in dependency order, so the
 * destination can be checked against it or created from it.
 */
import { Effect } from "effect"
import type pg from "pg"
import { formatTypeSql, query, type QueryFailed } from "../lib/Sql.js"
import type { ReplicaIdentity } from "../domain/Relation.js"
import { describeTypes, type SourceType } from "./SourceTypes.js"

export type { CompositeType, DomainType, EnumType, SourceType } from "./SourceTypes.js"

export type SourceRelkind = "r" | "p"

export interface SourceColumn {
  readonly name: string
  readonly attnum: number
  readonly typeOid: number
  /** format_type, schema-qualified outside pg_catalog: "numeric(10,2)", "integer[]", "public.mood" */
  readonly typeName: string
  readonly notNull: boolean
  readonly isPrimaryKey: boolean
  /** GENERATED ALWAYS AS (...) STORED: not sent by pgoutput */
  readonly isGenerated: boolean
}

export interface TableName {
  readonly schema: string
  readonly name: string
}

export interface SourceTable {
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly relkind: SourceRelkind
  readonly replicaIdentity: ReplicaIdentity
  /** user columns in attnum order (dropped and system columns excluded) */
  readonly columns: ReadonlyArray<SourceColumn>
  /** primary key columns in key order, [] without a primary key */
  readonly primaryKey: ReadonlyArray<string>
  /**
   * the key Postgres sends for UPDATE/DELETE: the primary key (identity DEFAULT), the replica identity
   * index columns (identity INDEX), else [] (FULL: the whole old row; NOTHING or no key: none)
   */
  readonly identityColumns: ReadonlyArray<string>
  /** every leaf partition, recursively (relkind "p" only) */
  readonly partitions: ReadonlyArray<TableName>
  /** enums, domains and composites the columns use, dependencies first */
  readonly types: ReadonlyArray<SourceType>
}

export interface TableSummary {
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly relkind: SourceRelkind
  readonly replicaIdentity: ReplicaIdentity
  readonly hasPrimaryKey: boolean
  /** a partition of another table (published through its root) */
  readonly isPartition: boolean
}

const RELATION_SQL = `
  select c.oid, n.nspname as schema, c.relname as name, c.relkind, c.relreplident as "replicaIdentity"
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p')`

const COLUMNS_SQL = `
  select a.attname as name, a.attnum, a.atttypid as "typeOid", ${formatTypeSql("a.atttypid", "a.atttypmod")} as "typeName",
    a.attnotnull as "notNull", a.attgenerated <> '' as "isGenerated"
  from pg_attribute a
  where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
  order by a.attnum`

const KEYS_SQL = `
  select i.indisprimary as "primary", i.indisreplident as "replident",
    array_agg(a.attname::text order by k.ord) as columns
  from pg_index i
  cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
  join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = $1 and (i.indisprimary or i.indisreplident)
  group by i.indexrelid, i.indisprimary, i.indisreplident`

const LEAF_PARTITIONS_SQL = `
  with recursive tree(oid) as (
    select inhrelid from pg_inherits where inhparent = $1
    union all
    select i.inhrelid from pg_inherits i join tree t on i.inhparent = t.oid
  )
  select n.nspname as schema, c.relname as name
  from tree join pg_class c on c.oid = tree.oid join pg_namespace n on n.oid = c.relnamespace
  where c.relkind = 'r'
  order by 1, 2`

const LIST_TABLES_SQL = `
  select c.oid, n.nspname as schema, c.relname as name, c.relkind, c.relreplident as "replicaIdentity",
    c.relispartition as "isPartition",
    exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary) as "hasPrimaryKey"
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p') and c.relpersistence = 'p' and case
    when $1::text[] is null then n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_'
    else n.nspname = any($1::text[]) end
  order by 2, 3`

interface RelationRow {
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly relkind: SourceRelkind
  readonly replicaIdentity: ReplicaIdentity
}

type ColumnRow = Omit<SourceColumn, "isPrimaryKey">

interface KeyRow {
  readonly primary: boolean
  readonly replident: boolean
  readonly columns: Array<string>
}

const identityOf = (replicaIdentity: ReplicaIdentity, keys: ReadonlyArray<KeyRow>): ReadonlyArray<string> => {
  switch (replicaIdentity) {
    case "d":
      return keys.find((k) => k.primary)?.columns ?? []
    case "i":
      return keys.find((k) => k.replident)?.columns ?? []
    default:
      return []
  }
}

/** the table or partitioned table `schema.name` as Postgres sees it, undefined when there is none */
export const describeSourceTable = (
  client: pg.ClientBase,
  schema: string,
  name: string
): Effect.Effect<SourceTable | undefined, QueryFailed> =>
  Effect.gen(function* () {
    const [rel] = yield* query<RelationRow>(client, RELATION_SQL, [schema, name])
    if (rel === undefined) return undefined
    const columns = yield* query<ColumnRow>(client, COLUMNS_SQL, [rel.oid])
    const keys = yield* query<KeyRow>(client, KEYS_SQL, [rel.oid])
    const partitions = rel.relkind === "p" ? yield* query<TableName>(client, LEAF_PARTITIONS_SQL, [rel.oid]) : []
    const types = yield* describeTypes(
      client,
      columns.map((c) => c.typeOid)
    )
    const primaryKey = keys.find((k) => k.primary)?.columns ?? []
    return {
      oid: rel.oid,
      schema: rel.schema,
      name: rel.name,
      relkind: rel.relkind,
      replicaIdentity: rel.replicaIdentity,
      columns: columns.map((c) => ({ ...c, isPrimaryKey: primaryKey.includes(c.name) })),
      primaryKey,
      identityColumns: identityOf(rel.replicaIdentity, keys),
      partitions,
      types
    }
  })

/** permanent tables and partitioned tables of the given schemas (default: every non-system schema) */
export const listTables = (
  client: pg.ClientBase,
  schemas?: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<TableSummary>, QueryFailed> =>
  query<TableSummary>(client, LIST_TABLES_SQL, [schemas === undefined ? null : [...schemas]])
