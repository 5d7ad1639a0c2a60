/**
 * Test-side changes: hand-built Relation/RowChange objects from plain rows of text values, and the changes
 * a real source table produces (captured by a row trigger, in pgoutput's shapes: old key tuple "K" on key
 * changes and deletes, full old tuple "O" under REPLICA IDENTITY FULL).
 */
import type pg from "pg"
import type { Change, RowChange, RowOp, TruncateChange, Tuple } from "../../src/domain/Change.js"
import { DELETE, INSERT, UPDATE } from "../../src/domain/Change.js"
import type { Relation, ReplicaIdentity } from "../../src/domain/Relation.js"
import type { ApplyTarget } from "../../src/apply/ApplyTarget.js"

/** text values by column name; in update rows a missing column is an unchanged TOAST value */
export type Row = Readonly<Record<string, string | null | undefined>>

let nextOid = 50_000

export const relation = (
  name: string,
  columns: ReadonlyArray<string>,
  options: { readonly key?: ReadonlyArray<string>; readonly identity?: ReplicaIdentity; readonly schema?: string } = {}
): Relation => {
  const identity = options.identity ?? "d"
  const key = options.key ?? []
  return {
    oid: nextOid++,
    schema: options.schema ?? "public",
    name,
    replicaIdentity: identity,
    columns: columns.map((c) => ({ name: c, typeOid: 25, typeMod: -1, isKey: identity === "f" || key.includes(c) }))
  }
}

const tuple = (rel: Relation, row: Row, missing: null | undefined): Tuple =>
  rel.columns.map((c) => (c.name in row ? row[c.name] : missing))

const keyTuple = (rel: Relation, row: Row): Tuple => rel.columns.map((c) => (c.isKey ? (row[c.name] ?? null) : null))

/** builds changes of one source (sid); each call is the next change of the current transaction */
export const source = (sid = "") => {
  let lsn = 0x1_0000_0000n
  let seq = 0
  const row = (
    relation: Relation,
    op: RowOp,
    newTuple: Tuple | null,
    oldTuple: Tuple | null,
    oldKind: "K" | "O" | null
  ): RowChange => ({
    _tag: "Row",
    op,
    sid,
    source: `test/${sid}`,
    relation,
    lsn,
    seq: seq++,
    commitTimeUs: 0n,
    newTuple,
    oldTuple,
    oldKind
  })
  const full = (rel: Relation) => rel.replicaIdentity === "f"
  return {
    commit: () => {
      lsn += 0x100n
      seq = 0
    },
    insert: (rel: Relation, r: Row) => row(rel, INSERT, tuple(rel, r, null), null, null),
    /** `old`: the old row (required under REPLICA IDENTITY FULL) or, for a key change, the old key */
    update: (rel: Relation, r: Row, old?: Row) =>
      full(rel)
        ? row(rel, UPDATE, tuple(rel, r, undefined), tuple(rel, old!, null), "O")
        : row(rel, UPDATE, tuple(rel, r, undefined), old ? keyTuple(rel, old) : null, old ? "K" : null),
    delete: (rel: Relation, old: Row) =>
      full(rel) ? row(rel, DELETE, null, tuple(rel, old, null), "O") : row(rel, DELETE, null, keyTuple(rel, old), "K"),
    truncate: (rel: Relation): TruncateChange => ({
      _tag: "Truncate",
      sid,
      source: `test/${sid}`,
      relation: rel,
      lsn,
      seq: seq++,
      commitTimeUs: 0n,
      cascade: false,
      restartIdentity: false
    })
  }
}

type Query = (sql: string, params?: ReadonlyArray<unknown>) => Promise<Array<any>>

const CAPTURE = `
create table if not exists walferry_capture (seq bigserial primary key, tbl oid, op text, old text[], new text[]);
create or replace function walferry_capture() returns trigger language plpgsql as $f$
declare cols text; o text[]; n text[];
begin
  if tg_op = 'TRUNCATE' then
    insert into walferry_capture (tbl, op) values (tg_relid, 'T');
    return null;
  end if;
  select string_agg(format('($1).%I::text', attname), ',' order by attnum) into cols
    from pg_attribute where attrelid = tg_relid and attnum > 0 and not attisdropped;
  if tg_op <> 'INSERT' then execute format('select array[%s]::text[]', cols) into o using old; end if;
  if tg_op <> 'DELETE' then execute format('select array[%s]::text[]', cols) into n using new; end if;
  insert into walferry_capture (tbl, op, old, new) values (tg_relid, left(tg_op, 1), o, n);
  return null;
end $f$;`

/** the relation a publication would announce for `schema.name` */
export const loadRelation = async (query: Query, schema: string, name: string): Promise<Relation> => {
  const [rel] = await query(
    `select c.oid::int as oid, c.relreplident as ident,
       (select coalesce(array_agg(k::int), '{}') from pg_index i, unnest(i.indkey) k where i.indrelid = c.oid
          and case c.relreplident when 'd' then i.indisprimary when 'i' then i.indisreplident else false end) as keys
     from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`,
    [schema, name]
  )
  const cols = await query(
    `select attnum, attname, atttypid::int as oid, atttypmod as mod from pg_attribute
     where attrelid = $1 and attnum > 0 and not attisdropped order by attnum`,
    [rel.oid]
  )
  return {
    oid: rel.oid,
    schema,
    name,
    replicaIdentity: rel.ident,
    columns: cols.map((c) => ({
      name: c.attname,
      typeOid: c.oid,
      typeMod: c.mod,
      isKey: rel.ident === "f" || rel.keys.includes(c.attnum)
    }))
  }
}

/** records every change of `schema.name` from now on; `read` returns those not read yet as walferry changes */
export const capture = async (query: Query, schema: string, name: string, sid = "") => {
  await query(CAPTURE)
  const relation = await loadRelation(query, schema, name)
  const table = `"${schema}"."${name}"`
  await query(`create trigger walferry_capture after insert or update or delete on ${table}
    for each row execute function walferry_capture()`)
  await query(
    `create trigger walferry_capture_t after truncate on ${table} for each statement execute function walferry_capture()`
  )
  const build = source(sid)
  const keyOf = (t: ReadonlyArray<string | null>) =>
    relation.columns.map((c, i) => (c.isKey ? t[i] : "")).join("\u0000")
  let last = 0
  const read = async (): Promise<Array<Change>> => {
    const rows = await query(
      `select seq, op, old, new from walferry_capture where tbl = $1 and seq > $2 order by seq`,
      [relation.oid, last]
    )
    const toRow = (t: ReadonlyArray<string | null>): Row =>
      Object.fromEntries(relation.columns.map((c, i) => [c.name, t[i] ?? null]))
    return rows.map((r): Change => {
      last = Number(r.seq)
      if (r.op === "T") return build.truncate(relation)
      if (r.op === "I") return build.insert(relation, toRow(r.new))
      if (r.op === "D") return build.delete(relation, toRow(r.old))
      const keyChanged = relation.replicaIdentity !== "f" && keyOf(r.old) !== keyOf(r.new)
      return build.update(
        relation,
        toRow(r.new),
        relation.replicaIdentity === "f" || keyChanged ? toRow(r.old) : undefined
      )
    })
  }
  return { relation, read }
}

/** the ApplyTarget of an existing destination table (primary key, else the first unique index) */
export const loadTarget = async (client: pg.ClientBase, schema: string, name: string): Promise<ApplyTarget> => {
  const { rows: cols } = await client.query(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
     where a.attrelid = format('%I.%I', $1::text, $2::text)::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [schema, name]
  )
  const { rows: keys } = await client.query(
    `select array(select a.attname from unnest(i.indkey) with ordinality k(n, o) join pg_attribute a
       on a.attrelid = i.indrelid and a.attnum = k.n order by k.o)::text[] as cols
     from pg_index i where i.indrelid = format('%I.%I', $1::text, $2::text)::regclass and i.indisunique
     order by i.indisprimary desc, i.indexrelid limit 1`,
    [schema, name]
  )
  return {
    schema,
    name,
    columns: cols.map((c) => ({ name: c.name, typeName: c.type })),
    primaryKey: keys[0]?.cols ?? [],
    hasSid: cols.some((c) => c.name === "sid")
  }
}
