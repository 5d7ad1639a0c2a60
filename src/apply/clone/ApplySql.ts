/**
 * SQL text of the set-based apply statements. Values travel as one text[] parameter per column (in binary
 * array format, TextArray), expanded with `unnest($1::text[], ...) AS d(...)` and cast in SQL: compared values to the exact
 * destination type, written values to the type without its modifier, so that the column's assignment
 * coercion applies (too long varchar(n) values fail instead of being cut as an explicit cast would).
 * Identifiers are always quoted; values are always parameters.
 */
import { INSERT, UPDATE } from "../../domain/Change.js"
import type { Cells, FullRowChange, MoveRow } from "./ApplyPlan.js"
import type { ColumnMap } from "../ColumnMap.js"
import { TextCaches } from "../../sink/StatementNames.js"
import { textArray, textArrayOf } from "../TextArray.js"

import type { Sql, TargetSql } from "./TargetSql.js"

export { assignType, quoteIdent, targetSql, type Sql, type TargetSql } from "./TargetSql.js"

type Text = string | null

const texts = new TextCaches<TargetSql>()

/** the text of a statement of `t` that depends only on `key` (the columns involved), built once */
const textOf = (t: TargetSql, key: string, build: () => string): string => texts.of(t).get(key, build)

/** collects one text[] parameter per alias and renders the unnest source `d` */
class Arrays {
  readonly values: Array<Buffer> = []
  private readonly aliases: Array<string> = []

  /** `offset`: parameters before these in the statement */
  constructor(private readonly offset = 0) {}

  add(alias: string, column: Array<Text>): void {
    this.aliases.push(alias)
    this.values.push(textArray(column))
  }

  /** arrays built elsewhere (cellArrays, RowArrays), aliased prefix0, prefix1, ... */
  given(prefix: string, arrays: ReadonlyArray<Buffer>): void {
    arrays.forEach((b, i) => {
      this.aliases.push(`${prefix}${i}`)
      this.values.push(b)
    })
  }

  /** one array per position, aliased prefix0, prefix1, ...: the value at that position of each row's cells */
  cells<R>(prefix: string, positions: ReadonlyArray<number>, rows: ReadonlyArray<R>, get: (r: R) => Cells): void {
    positions.forEach((p, i) => {
      this.aliases.push(`${prefix}${i}`)
      this.values.push(textArrayOf(rows.length, (j) => get(rows[j]!)[p]))
    })
  }

  from(ordinality: boolean): string {
    const args = this.values.map((_, i) => `$${this.offset + i + 1}::text[]`).join(", ")
    const names = ordinality ? [...this.aliases, "n"] : this.aliases
    return `unnest(${args})${ordinality ? " WITH ORDINALITY" : ""} AS d(${names.join(", ")})`
  }
}

const self = (c: Cells) => c
const NONE: Cells = []
const opCode = (r: FullRowChange) => (r.op === INSERT ? "I" : r.op === UPDATE ? "U" : "D")
const list = (ps: ReadonlyArray<number>, f: (p: number, i: number) => string, sep = ", ") => ps.map(f).join(sep)
const written = (t: TargetSql, p: number, alias: string) => `CAST(d.${alias} AS ${t.assign[p]})`
const compared = (t: TargetSql, p: number, alias: string, on = "t") =>
  `${on}.${t.names[p]} = CAST(d.${alias} AS ${t.match[p]})`
const aliasOf = (columns: ReadonlyArray<number>, p: number, prefix = "c") => `${prefix}${columns.indexOf(p)}`
const insertInto = (t: TargetSql, columns: ReadonlyArray<number>) =>
  `INSERT INTO ${t.table} (${list(columns, (p) => t.names[p]!)}) SELECT ${list(columns, (p, i) => written(t, p, `c${i}`))}`
const counts = (names: ReadonlyArray<string>) =>
  `SELECT ${names.map((n) => `(SELECT count(*) FROM ${n})::int AS ${n}`).join(", ")}`

/** the parameters of insertSql and upsertSql: one text[] per written column, from each row's cells */
export const cellArrays = (columns: ReadonlyArray<number>, rows: ReadonlyArray<Cells>): Array<Buffer> =>
  columns.map((p) => textArrayOf(rows.length, (j) => rows[j]![p]))

/**
 * plain multi-row insert of one text[] per written column (cellArrays, or RowArrays for rows still in bytes);
 * `offset`: parameters before its own (SingleStatement)
 */
export const insertSql = (
  t: TargetSql,
  columns: ReadonlyArray<number>,
  arrays: ReadonlyArray<Buffer>,
  offset = 0
): Sql => {
  const a = new Arrays(offset)
  a.given("c", arrays)
  return {
    text: textOf(t, `i${columns.join()}|${offset}`, () => `${insertInto(t, columns)} FROM ${a.from(false)}`),
    values: a.values
  }
}

/** complete rows: INSERT ... ON CONFLICT (conflict) DO UPDATE SET every other written column */
export const upsertSql = (
  t: TargetSql,
  map: ColumnMap,
  columns: ReadonlyArray<number>,
  arrays: ReadonlyArray<Buffer>,
  offset = 0
): Sql => {
  const base = insertSql(t, columns, arrays, offset)
  const text = textOf(t, `u${columns.join()}|${map.conflict.join()}|${offset}`, () => {
    const set = columns.filter((p) => !map.conflict.includes(p))
    const action =
      set.length === 0 ? "NOTHING" : `UPDATE SET ${list(set, (p) => `${t.names[p]} = EXCLUDED.${t.names[p]}`)}`
    return `${base.text} ON CONFLICT (${list(map.conflict, (p) => t.names[p]!)}) DO ${action}`
  })
  return { text, values: base.values }
}

const updateOrProbe = (
  t: TargetSql,
  set: ReadonlyArray<number>,
  columns: ReadonlyArray<number>,
  where: string,
  d = "d"
) =>
  set.length === 0
    ? `SELECT d.n FROM ${d} AS d WHERE EXISTS (SELECT 1 FROM ${t.table} AS t WHERE ${where})`
    : `UPDATE ${t.table} AS t SET ${list(set, (p) => `${t.names[p]} = ${written(t, p, aliasOf(columns, p))}`)} FROM ${d} AS d WHERE ${where} RETURNING d.n`

/** the CTEs of a merge (see mergeSql), named prefix + d, updated, inserted; counts in `updated` and `inserted` */
export interface MergeCtes {
  readonly text: string
  readonly values: Array<Buffer>
  readonly updated: string
  readonly inserted: string
}

export const mergeCtes = (
  t: TargetSql,
  map: ColumnMap,
  columns: ReadonlyArray<number>,
  rows: ReadonlyArray<Cells>,
  prefix = "",
  offset = 0
): MergeCtes => {
  const a = new Arrays(offset)
  a.cells("c", columns, rows, self)
  const [d, updated, inserted] = [`${prefix}d`, `${prefix}updated`, `${prefix}inserted`]
  const text = textOf(t, `m${columns.join()}|${map.key.join()}|${prefix}|${offset}`, () => {
    const where = list(map.key, (p) => compared(t, p, aliasOf(columns, p)), " AND ")
    const set = columns.filter((p) => !map.key.includes(p))
    return (
      `${d} AS (SELECT * FROM ${a.from(true)}), ` +
      `${updated} AS (${updateOrProbe(t, set, columns, where, d)}), ` +
      `${inserted} AS (${insertInto(t, columns)} FROM ${d} AS d ` +
      `WHERE NOT EXISTS (SELECT 1 FROM ${updated} AS u WHERE u.n = d.n) RETURNING 1)`
    )
  })
  return { text, values: a.values, updated, inserted }
}

/** rows with unchanged-TOAST gaps (or no conflict target): UPDATE the present columns, INSERT the rows not found */
export const mergeSql = (
  t: TargetSql,
  map: ColumnMap,
  columns: ReadonlyArray<number>,
  rows: ReadonlyArray<Cells>
): Sql => {
  const m = mergeCtes(t, map, columns, rows)
  return { text: `WITH ${m.text} ${counts(["updated", "inserted"])}`, values: m.values }
}

/** ordinals (1-based, column n) of the rows found on the destination at any of their key images */
export const existingSql = (
  t: TargetSql,
  key: ReadonlyArray<number>,
  images: ReadonlyArray<ReadonlyArray<Cells>>
): Sql => {
  const a = new Arrays()
  const tests: Array<string> = []
  for (let i = 0; i < (images[0]?.length ?? 0); i++) {
    a.cells(`i${i}_`, key, images, (img) => img[i]!)
    const match = list(key, (p, j) => compared(t, p, `i${i}_${j}`), " AND ")
    tests.push(`EXISTS (SELECT 1 FROM ${t.table} AS t WHERE ${match})`)
  }
  return { text: `SELECT d.n::int AS n FROM ${a.from(true)} WHERE ${tests.join(" OR ")}`, values: a.values }
}

export const deleteSql = (t: TargetSql, map: ColumnMap, rows: ReadonlyArray<Cells>, offset = 0): Sql => {
  const a = new Arrays(offset)
  a.cells("k", map.key, rows, self)
  const text = textOf(t, `d${map.key.join()}|${offset}`, () => {
    const where = list(map.key, (p, i) => compared(t, p, `k${i}`), " AND ")
    return `DELETE FROM ${t.table} AS t USING ${a.from(false)} WHERE ${where}`
  })
  return { text, values: a.values }
}

/**
 * key changes keeping unchanged-TOAST columns: move the row at the old key to the new key; when the new key
 * already exists (a replay: the row moved on, and a later source insert at the old key will be replayed too),
 * update it and drop the old key's row; insert the rows found at neither key
 */
export const moveSql = (
  t: TargetSql,
  map: ColumnMap,
  columns: ReadonlyArray<number>,
  rows: ReadonlyArray<MoveRow>
): Sql => {
  const a = new Arrays()
  a.cells("k", map.key, rows, (r) => r.old)
  a.cells("c", columns, rows, (r) => r.cells)
  const atOld = list(map.key, (p, i) => compared(t, p, `k${i}`), " AND ")
  const atNew = (on: string) => list(map.key, (p) => compared(t, p, aliasOf(columns, p), on), " AND ")
  const set = columns.filter((p) => p !== map.sidPosition)
  const nonKey = columns.filter((p) => !map.key.includes(p))
  const text =
    `WITH d AS (SELECT * FROM ${a.from(true)}), ` +
    `moved AS (UPDATE ${t.table} AS t SET ${list(set, (p) => `${t.names[p]} = ${written(t, p, aliasOf(columns, p))}`)} ` +
    `FROM d WHERE ${atOld} AND NOT EXISTS (SELECT 1 FROM ${t.table} AS x WHERE ${atNew("x")}) RETURNING d.n), ` +
    `dropped AS (DELETE FROM ${t.table} AS t USING d WHERE ${atOld} ` +
    `AND EXISTS (SELECT 1 FROM ${t.table} AS x WHERE ${atNew("x")})), ` +
    `updated AS (${updateOrProbe(t, nonKey, columns, atNew("t"))}), ` +
    `inserted AS (${insertInto(t, columns)} FROM d WHERE NOT EXISTS (SELECT 1 FROM moved WHERE moved.n = d.n) ` +
    `AND NOT EXISTS (SELECT 1 FROM updated WHERE updated.n = d.n) RETURNING 1) ` +
    counts(["moved", "updated", "inserted"])
  return { text, values: a.values }
}

/**
 * keyless tables: each update/delete takes one destination row whose image equals its old image.
 * Images compare as text arrays of the values cast to the destination type (array equality treats NULLs
 * as equal, works for types without `=` such as json, and is hashable). The i-th change with image X
 * takes the i-th row with image X (row_number over ctid), so N identical changes take N distinct rows.
 */
export const fullRowSql = (t: TargetSql, map: ColumnMap, rows: ReadonlyArray<FullRowChange>): Sql => {
  const cols = map.mapped
  const a = new Arrays()
  a.add("op", rows.map(opCode))
  a.cells("o", cols, rows, (r) => r.old ?? NONE)
  a.cells("c", cols, rows, (r) => r.cells ?? NONE)
  const image = list(cols, (p, i) => `CAST(CAST(d.o${i} AS ${t.match[p]}) AS text)`)
  const stored = list(cols, (p) => `CAST(t.${t.names[p]} AS text)`)
  const at = "t.tableoid = x.toid AND t.ctid = x.tid"
  const text =
    `WITH d AS (SELECT * FROM ${a.from(true)}), ` +
    `k AS (SELECT d.n, d.op, ARRAY[${image}] AS img FROM d WHERE d.op <> 'I'), ` +
    `kr AS (SELECT k.*, row_number() OVER (PARTITION BY k.img ORDER BY k.n) AS r FROM k), ` +
    `m AS (SELECT t.tableoid AS toid, t.ctid AS tid, g.img, row_number() OVER (PARTITION BY g.img ORDER BY t.tableoid, t.ctid) AS r ` +
    `FROM ${t.table} AS t JOIN (SELECT DISTINCT img FROM k) AS g ON ARRAY[${stored}] = g.img), ` +
    `x AS (SELECT m.toid, m.tid, kr.n, kr.op FROM m JOIN kr ON kr.img = m.img AND kr.r = m.r), ` +
    `deleted AS (DELETE FROM ${t.table} AS t USING x WHERE ${at} AND x.op = 'D' RETURNING 1), ` +
    `updated AS (UPDATE ${t.table} AS t SET ${list(cols, (p, i) => `${t.names[p]} = ${written(t, p, `c${i}`)}`)} ` +
    `FROM x JOIN d ON d.n = x.n WHERE ${at} AND x.op = 'U' RETURNING 1), ` +
    `inserted AS (${insertInto(t, cols)} FROM d WHERE d.op = 'I' RETURNING 1), ` +
    `wanted AS (SELECT 1 FROM k) ` +
    counts(["inserted", "updated", "deleted", "wanted"])
  return { text, values: a.values }
}

export const truncateSql = (t: TargetSql, sidPosition: number, sid: string | null): Sql =>
  sid === null || sidPosition < 0
    ? { text: `TRUNCATE TABLE ${t.table}`, values: [] }
    : {
        text: `DELETE FROM ${t.table} WHERE ${t.names[sidPosition]} = CAST($1 AS ${t.match[sidPosition]})`,
        values: [sid]
      }
