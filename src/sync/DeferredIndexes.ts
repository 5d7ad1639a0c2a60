/**
 * Index builds after a first copy. Filling an emptied table through its indexes costs the destination about
 * twice what loading it bare and building each index once afterwards does (a sorted bulk build instead of
 * one index insertion per row, from several chunks at once). So on a first start, for a target that the
 * copy clears and nothing else writes meanwhile, the indexes and the key, unique and exclusion constraints
 * are dropped and rebuilt when the table's last chunk has settled.
 *
 * Guarantees: the statements that rebuild them are recorded in `walferry.deferred_indexes` in the same
 * transaction that drops them, and deleted in the one that rebuilds them, so a crash in between leaves them
 * recorded; every writer restores them before it reads its target's definition (PgSink), so nothing is
 * ever applied to a target without its key. Not deferred (the copy goes through the indexes as before):
 * tables referenced by a foreign key, with an invalid index or a replica identity index, partitioned
 * targets, and when this role may not drop them.
 */
import type pg from "pg"
import { qualified, quoteIdent } from "../lib/Sql.js"

export const DEFERRED_DDL = `
  create table if not exists walferry.deferred_indexes (
    target text not null,
    source text not null,
    statements text[] not null,
    deferred_at timestamptz not null default now(),
    primary key (target, source)
  );`

interface IndexRow {
  readonly kind: "constraint" | "index"
  readonly name: string
  readonly def: string
}

const ELIGIBLE = `
  select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = $1 and c.relname = $2 and c.relkind = 'r' and c.relreplident <> 'i'
    and not exists (select 1 from pg_constraint f where f.confrelid = c.oid)
    and not exists (select 1 from pg_index i where i.indrelid = c.oid and not (i.indisvalid and i.indisready))`

const INDEXES = `
  select case when con.oid is null then 'index' else 'constraint' end as kind,
    coalesce(con.conname, ic.relname)::text as name,
    case when con.oid is null then pg_get_indexdef(i.indexrelid) else pg_get_constraintdef(con.oid) end as def
  from pg_index i
  join pg_class ic on ic.oid = i.indexrelid
  left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = i.indrelid and con.contype in ('p', 'u', 'x')
  where i.indrelid = $1
  order by i.indisprimary desc, con.oid is null, i.indexrelid`

const rebuildOf = (table: string, r: IndexRow) =>
  r.kind === "constraint" ? `alter table ${table} add constraint ${quoteIdent(r.name)} ${r.def}` : r.def

const dropOf = (schema: string, table: string, r: IndexRow) =>
  r.kind === "constraint"
    ? `alter table ${table} drop constraint ${quoteIdent(r.name)}`
    : `drop index ${qualified(schema, r.name)}`

/**
 * Drops the indexes of `schema.name` and records how to rebuild them, in one transaction; returns how many
 * it deferred (0: not eligible, nothing changed). Call it right after the target was cleared.
 */
export const deferIndexes = async (
  client: pg.ClientBase,
  schema: string,
  name: string,
  source: string
): Promise<number> => {
  const table = qualified(schema, name)
  await client.query("begin")
  try {
    await client.query(`lock table ${table} in access exclusive mode`)
    const { rows: found } = await client.query<{ oid: number }>(ELIGIBLE, [schema, name])
    const oid = found[0]?.oid
    const { rows } = oid === undefined ? { rows: [] } : await client.query<IndexRow>(INDEXES, [oid])
    if (rows.length === 0) {
      await client.query("rollback")
      return 0
    }
    await client.query(
      `insert into walferry.deferred_indexes (target, source, statements) values ($1, $2, $3)
       on conflict (target, source) do update set statements = excluded.statements, deferred_at = now()`,
      [name, source, rows.map((r) => rebuildOf(table, r))]
    )
    for (const r of [...rows].reverse()) await client.query(dropOf(schema, table, r))
    await client.query("commit")
    return rows.length
  } catch (e) {
    await client.query("rollback").catch(() => undefined)
    if ((e as { code?: string }).code === "42501") return 0
    throw e
  }
}

/** the targets with indexes deferred for `source` (the store exists) */
export const deferredTargets = async (client: pg.ClientBase, source: string): Promise<ReadonlyArray<string>> =>
  (
    await client.query<{ target: string }>("select target from walferry.deferred_indexes where source = $1", [source])
  ).rows.map((r) => r.target)

/**
 * Rebuilds what was deferred for `target` (from every source, or only `source`) in one transaction;
 * returns the statements it ran. Safe to call when nothing is recorded, and before the store exists.
 */
export const restoreIndexes = async (
  client: pg.ClientBase,
  target: string,
  source?: string
): Promise<ReadonlyArray<string>> => {
  const { rows: store } = await client.query<{ exists: boolean }>(
    "select to_regclass('walferry.deferred_indexes') is not null as exists"
  )
  if (store[0]?.exists !== true) return []
  const { rows: pending } = await client.query(
    "select 1 from walferry.deferred_indexes where target = $1 and ($2::text is null or source = $2) limit 1",
    [target, source ?? null]
  )
  if (pending.length === 0) return []
  await client.query("begin")
  try {
    const { rows } = await client.query<{ statements: Array<string> }>(
      `delete from walferry.deferred_indexes where target = $1 and ($2::text is null or source = $2)
       returning statements`,
      [target, source ?? null]
    )
    const statements = rows.flatMap((r) => r.statements)
    if (statements.length > 0) await client.query("set local maintenance_work_mem = '256MB'")
    for (const s of statements) await client.query(s)
    await client.query("commit")
    return statements
  } catch (e) {
    await client.query("rollback").catch(() => undefined)
    throw e
  }
}
