/**
 * SQL text of the history statements, one per set: values travel as one text[] parameter per column (in
 * binary array format, TextArray) expanded with `unnest` and cast in SQL (ApplySql's conventions). A
 * statement's text depends on the table, the relation's columns and whether versions carry unchanged-TOAST
 * values, never on the rows: it is built once and runs as a named prepared statement. Both statements are
 * no-ops when re-applied:
 * - openSql inserts the versions not stored yet (same business key, position and start); values of
 *   unchanged-TOAST columns come from the stored open version positioned below the closing change;
 * - closeSql sets end (and deleted) on open versions only: the one positioned below the change (a key's
 *   first close) or the batch's version at an exact position. Open = end within a day of OPEN_END, which
 *   also covers a `'9999-01-01'` default written in another time zone.
 * Positions compare as numeric, or as text under COLLATE "C". When the business key leads the destination
 * key, versions are looked up row by row through its index (LATERAL), as a planner weighing a hash join
 * over the whole table against 20,000 probes would often scan; otherwise the planner chooses.
 */
import type { Cells } from "../clone/ApplyPlan.js"
import type { Sql, TargetSql } from "../clone/ApplySql.js"
import { FROM_SID } from "../ColumnMap.js"
import { TextCaches } from "../../sink/StatementNames.js"
import { textArrayOf } from "../TextArray.js"
import type { Close, Version } from "./HistoryFold.js"
import type { HistoryMap } from "./HistoryTarget.js"

type Text = string | null

/** one text[] parameter per alias, its i-th value from the i-th row */
class Arrays<R> {
  readonly values: Array<Buffer> = []
  private readonly aliases: Array<string> = []

  constructor(private readonly rows: ReadonlyArray<R>) {}

  add(alias: string, get: (r: R) => Text | undefined): void {
    this.aliases.push(alias)
    this.values.push(textArrayOf(this.rows.length, (i) => get(this.rows[i]!)))
  }

  /** the CTE `d`: one row per array index, numbered n */
  cte(): string {
    const args = this.values.map((_, i) => `$${i + 1}::text[]`).join(", ")
    return `d AS (SELECT * FROM unnest(${args}) WITH ORDINALITY AS d(${[...this.aliases, "n"].join(", ")}))`
  }
}

const texts = new TextCaches<TargetSql>()

/** the text of a statement of `t` for `m`'s columns (and `variant`), built once */
const textOf = (t: TargetSql, m: HistoryMap, variant: string, build: () => string): string =>
  texts.of(t).getBy(m.signature, `${variant}|${m.sourceOf.indexOf(FROM_SID)}|${m.indexed}`, build)

const cell = (cells: Cells | null | undefined, p: number): Text => cells?.[p] ?? null
const and = (parts: ReadonlyArray<string>) => parts.map((x) => ` AND ${x}`).join("")
const flag = (b: boolean) => (b ? "t" : "f")

const shapes = (t: TargetSql, m: HistoryMap) => {
  const numeric = m.target.positionType === "numeric"
  const lsn = `t.${t.names[m.lsn]}`
  const stored = numeric ? lsn : `CAST(${lsn} AS text) COLLATE "C"`
  const given = (alias: string) => (numeric ? `CAST(d.${alias} AS numeric)` : `CAST(d.${alias} AS text) COLLATE "C"`)
  return {
    stored,
    given,
    open: `t.${t.names[m.end]} >= timestamptz '9998-12-31 00:00:00+00'`,
    below: (alias: string) => `(${lsn} IS NULL OR ${stored} < ${given(alias)})`,
    key: (positions: ReadonlyArray<number>, alias: (i: number) => string) =>
      and(positions.map((p, i) => `t.${t.names[p]} = CAST(d.${alias(i)} AS ${t.match[p]})`))
  }
}

/** INSERT ... SELECT of the versions not stored yet; rowCount = versions inserted */
export const openSql = (t: TargetSql, m: HistoryMap, versions: ReadonlyArray<Version>): Sql => {
  const a = new Arrays(versions)
  m.mapped.forEach((p, i) => a.add(`c${i}`, (v) => v.cells[p]))
  a.add("s", (v) => v.start)
  a.add("e", (v) => v.end)
  a.add("x", (v) => flag(v.deleted))
  a.add("p", (v) => v.position)
  const carry = versions.some((v) => v.carry !== null)
  if (carry) {
    const mask = (v: Version) => m.mapped.map((p) => (v.cells[p] === undefined ? "u" : ".")).join("")
    a.add("u", (v) => (v.carry === null ? null : mask(v)))
    m.key.forEach((p, i) => a.add(`k${i}`, (v) => cell(v.carry?.key, p)))
    a.add("b", (v) => v.carry?.before)
  }
  const text = textOf(t, m, carry ? "open+carry" : "open", () => openText(t, m, carry, a.cte()))
  return { text, values: a.values }
}

const openText = (t: TargetSql, m: HistoryMap, carry: boolean, cte: string): string => {
  const q = shapes(t, m)
  const value = (p: number, i: number) =>
    carry
      ? `CASE WHEN substr(d.u, ${i + 1}, 1) = 'u' THEN (o.r).${t.names[p]} ELSE CAST(d.c${i} AS ${t.assign[p]}) END`
      : `CAST(d.c${i} AS ${t.assign[p]})`
  const names = [...m.mapped, m.start, m.end, m.deleted, m.lsn].map((p) => t.names[p]).join(", ")
  const values = [
    ...m.mapped.map(value),
    `CAST(d.s AS timestamptz)`,
    `CAST(d.e AS timestamptz)`,
    `d.x = 't'`,
    m.target.positionType === "numeric" ? `CAST(d.p AS numeric)` : `d.p`
  ].join(", ")
  const previous = `d.b IS NOT NULL${q.key(m.key, (i) => `k${i}`)} AND ${q.open} AND ${q.below("b")}`
  const newest = `${q.stored} DESC NULLS LAST`
  const ctes = [cte]
  let from = "d"
  if (carry && m.indexed) {
    const one = `SELECT t AS r FROM ${t.table} AS t WHERE ${previous} ORDER BY ${newest} LIMIT 1`
    from += ` LEFT JOIN LATERAL (${one}) AS o ON true`
  } else if (carry) {
    const all = `SELECT DISTINCT ON (d.n) d.n, t AS r FROM d JOIN ${t.table} AS t ON ${previous}`
    ctes.push(`o AS (${all} ORDER BY d.n, ${newest})`)
    from += " LEFT JOIN o ON o.n = d.n"
  }
  const sid = m.sourceOf.indexOf(FROM_SID)
  const identity = m.key.length > 0 ? m.key : sid >= 0 ? [sid] : []
  const same =
    `SELECT 1 AS hit FROM ${t.table} AS t WHERE ${q.stored} = ${q.given("p")} AND t.${t.names[m.start]} = ` +
    `CAST(d.s AS timestamptz)${q.key(identity, (i) => `c${m.mapped.indexOf(identity[i]!)}`)}`
  const where = m.indexed
    ? ((from += ` LEFT JOIN LATERAL (${same} LIMIT 1) AS ex ON true`), "ex.hit IS NULL")
    : `NOT EXISTS (${same})`
  return `WITH ${ctes.join(", ")} INSERT INTO ${t.table} (${names}) SELECT ${values} FROM ${from} WHERE ${where}`
}

/** UPDATE closing open versions; one row of counts: closed, deleted (closed as deleted), missed */
export const closeSql = (t: TargetSql, m: HistoryMap, closes: ReadonlyArray<Close>): Sql => {
  const a = new Arrays(closes)
  m.key.forEach((p, i) => a.add(`k${i}`, (c) => c.key[p]))
  a.add("a", (c) => c.at)
  a.add("b", (c) => c.before)
  a.add("e", (c) => c.end)
  a.add("x", (c) => flag(c.deleted))
  a.add("w", (c) => flag(c.expected))
  const text = textOf(t, m, "close", () => closeText(t, m, a.cte()))
  return { text, values: a.values }
}

const closeText = (t: TargetSql, m: HistoryMap, cte: string): string => {
  const q = shapes(t, m)
  const which =
    `${q.open}${q.key(m.key, (i) => `k${i}`)} AND CASE WHEN d.a IS NULL THEN ${q.below("b")} ` +
    `ELSE ${q.stored} = ${q.given("a")} END`
  const found = m.indexed
    ? `SELECT d.n, d.e, d.x, d.w, v.toid, v.tid FROM d CROSS JOIN LATERAL ` +
      `(SELECT t.tableoid AS toid, t.ctid AS tid FROM ${t.table} AS t WHERE ${which} OFFSET 0) AS v`
    : `SELECT d.n, d.e, d.x, d.w, t.tableoid AS toid, t.ctid AS tid FROM d JOIN ${t.table} AS t ON ${which}`
  return (
    `WITH ${cte}, m AS MATERIALIZED (${found}), ` +
    `u AS (UPDATE ${t.table} AS t SET ${t.names[m.end]} = CAST(m.e AS timestamptz), ` +
    `${t.names[m.deleted]} = (m.x = 't') FROM m WHERE t.tableoid = m.toid AND t.ctid = m.tid ` +
    `AND t.ctid = ANY (ARRAY(SELECT m.tid FROM m)) RETURNING m.n, m.x, m.w) ` +
    `SELECT (SELECT count(*) FROM u WHERE u.x = 'f')::int AS closed, ` +
    `(SELECT count(*) FROM u WHERE u.x = 't')::int AS deleted, ` +
    `((SELECT count(*) FROM d WHERE d.w = 't') - (SELECT count(DISTINCT u.n) FROM u WHERE u.w = 't'))::int AS missed`
  )
}
