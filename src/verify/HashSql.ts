/**
 * The SQL each side runs, built from the same column list on both sides so the text hashed is the same
 * whatever the major version: each mapped column cast to text, the row of texts cast to text (NULL and ''
 * stay distinct), hashed by `hashtextextended(… collate "C", 0)` (64-bit, Postgres 11+). A range's summary
 * is `count(*)` and the sum of those hashes, order-independent and computed inside the database, so an
 * equal range moves two numbers. Text forms depend on session settings: both sides' connections are opened
 * with SESSION_OPTIONS. Identifiers are quoted; range literals come quoted by the server (ChunkPlanner);
 * the sid is a parameter.
 */
import { quoteIdent } from "../lib/Sql.js"

/** startup options of every verify connection: identical text forms of dates, intervals, floats, bytea */
export const SESSION_OPTIONS =
  "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=1 -c bytea_output=hex"

/** one side of a comparison: the table and the rows of it that count */
export interface HashSide {
  /** qualified table */
  readonly from: string
  /** a condition over its columns ("true" for all rows), `$1`… bound to `params` */
  readonly filter: string
  readonly params: ReadonlyArray<unknown>
}

export const rowTextSql = (columns: ReadonlyArray<string>): string =>
  `row(${columns.map((c) => `${quoteIdent(c)}::text`).join(", ")})::text`

export const rowHashSql = (columns: ReadonlyArray<string>): string =>
  `hashtextextended(${rowTextSql(columns)} collate "C", 0)`

/** the condition of a ChunkPlanner predicate (` where …`, or "" for the whole key space) */
export const conditionOf = (predicate: string): string =>
  predicate === "" ? "true" : predicate.replace(/^ where /, "")

const where = (side: HashSide, condition: string) => `${side.filter} and ${condition}`

/** → one row `{ n, s }`: rows and hash sum as text */
export const summarySql = (side: HashSide, columns: ReadonlyArray<string>, condition: string): string =>
  `select count(*)::text as n, coalesce(sum(${rowHashSql(columns)}), 0)::text as s
   from ${side.from} where ${where(side, condition)}`

/** → `{ k0, k1, …, h }` per row: key texts and row hash */
export const rowsSql = (
  side: HashSide,
  key: ReadonlyArray<string>,
  columns: ReadonlyArray<string>,
  condition: string
): string =>
  `select ${key.map((k, i) => `${quoteIdent(k)}::text as k${i}`).join(", ")}, ${rowHashSql(columns)}::text as h
   from ${side.from} where ${where(side, condition)}`

/** → `{ k0, … }`: every `step`-th key of the range in key order (the step is the next parameter) */
export const splitSql = (side: HashSide, key: ReadonlyArray<string>, condition: string): string => {
  const keys = key.map(quoteIdent).join(", ")
  const texts = key.map((k, i) => `${quoteIdent(k)}::text as k${i}`).join(", ")
  return `select ${key.map((_, i) => `k${i}`).join(", ")} from (
     select ${texts}, row_number() over (order by ${keys}) as rn from ${side.from} where ${where(side, condition)}
   ) s where rn % $${side.params.length + 1} = 0 order by rn`
}

/** → `{ h, n }`: the multiset of row hashes (keyless tables) */
export const hashCountsSql = (side: HashSide, columns: ReadonlyArray<string>): string =>
  `select ${rowHashSql(columns)}::text as h, count(*)::int as n from ${side.from} where ${side.filter} group by 1`

/** → `{ r, h }`: row texts of the rows with the hashes given as the next parameter (text[]) */
export const rowsByHashSql = (side: HashSide, columns: ReadonlyArray<string>): string =>
  `select ${rowTextSql(columns)} as r, ${rowHashSql(columns)}::text as h from ${side.from}
   where ${side.filter} and ${rowHashSql(columns)} = any($${side.params.length + 1}::int8[])`
