/**
 * The SQL each side runs, built from the same column list on both sides so the same value hashes alike
 * whatever the major version. A column whose type is the same built-in type on both sides is hashed by that
 * type's extended hash function (the ones hash partitioning uses, which pg_upgrade requires to stay the same
 * across majors: integers, text, uuid, numeric, float8, timestamps, jsonb, interval); any other column is
 * cast to text and hashed as text (under collation "C"). Each column is hashed with its position as seed,
 * NULL gets a fixed value, and a row's hash is the XOR of its columns': 64 bits, computed at about the
 * cost of reading the row (casting every value to text costs several times more). A range's summary is
 * `count(*)` and the sum of its row hashes, order-independent and computed inside the database, so an
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

/** a compared column: its name and, when both sides have the same type, that type's name */
export interface HashColumn {
  readonly name: string
  readonly sameType: string | undefined
}

const TYPED: ReadonlyArray<readonly [RegExp, (c: string, seed: number) => string]> = [
  [/^smallint$/, (c, s) => `hashint2extended(${c}, ${s})`],
  [/^integer$/, (c, s) => `hashint4extended(${c}, ${s})`],
  [/^bigint$/, (c, s) => `hashint8extended(${c}, ${s})`],
  [/^(text|character varying(\(\d+\))?)$/, (c, s) => `hashtextextended(${c}::text collate "C", ${s})`],
  [/^uuid$/, (c, s) => `uuid_hash_extended(${c}, ${s})`],
  [/^numeric(\(\d+(,\d+)?\))?$/, (c, s) => `hash_numeric_extended(${c}, ${s})`],
  [/^double precision$/, (c, s) => `hashfloat8extended(${c}, ${s})`],
  [/^timestamp(\(\d\))? without time zone$/, (c, s) => `timestamp_hash_extended(${c}, ${s})`],
  // the session's time zone is UTC on both sides: the cast keeps the instant
  [/^timestamp(\(\d\))? with time zone$/, (c, s) => `timestamp_hash_extended(${c}::timestamp, ${s})`],
  [/^jsonb$/, (c, s) => `jsonb_hash_extended(${c}, ${s})`],
  [/^interval$/, (c, s) => `interval_hash_extended(${c}, ${s})`]
]

/** the hash of one column's value, seeded by its position, never NULL */
export const columnHashSql = (column: HashColumn, seed: number): string => {
  const c = quoteIdent(column.name)
  const typed = column.sameType === undefined ? undefined : TYPED.find(([re]) => re.test(column.sameType!))
  const hash = typed !== undefined ? typed[1](c, seed) : `hashtextextended(${c}::text collate "C", ${seed})`
  return `coalesce(${hash}, ${-1 - seed})`
}

export const rowHashSql = (columns: ReadonlyArray<HashColumn>): string =>
  columns.length === 0 ? "0::int8" : `(${columns.map((c, i) => columnHashSql(c, i + 1)).join(" # ")})`

/** a row's text, to name a keyless table's differing rows */
export const rowTextSql = (columns: ReadonlyArray<HashColumn>): string =>
  `row(${columns.map((c) => `${quoteIdent(c.name)}::text`).join(", ")})::text`

/** the condition of a ChunkPlanner predicate (` where …`, or "" for the whole key space) */
export const conditionOf = (predicate: string): string =>
  predicate === "" ? "true" : predicate.replace(/^ where /, "")

const where = (side: HashSide, condition: string) => `${side.filter} and ${condition}`

/** → one row `{ n, s }`: rows and hash sum as text */
export const summarySql = (side: HashSide, columns: ReadonlyArray<HashColumn>, condition: string): string =>
  `select count(*)::text as n, coalesce(sum(${rowHashSql(columns)}), 0)::text as s
   from ${side.from} where ${where(side, condition)}`

/** → `{ k0, k1, …, h }` per row: key texts and row hash */
export const rowsSql = (
  side: HashSide,
  key: ReadonlyArray<string>,
  columns: ReadonlyArray<HashColumn>,
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
export const hashCountsSql = (side: HashSide, columns: ReadonlyArray<HashColumn>): string =>
  `select ${rowHashSql(columns)}::text as h, count(*)::int as n from ${side.from} where ${side.filter} group by 1`

/** → `{ r, h }`: row texts of the rows with the hashes given as the next parameter (text[]) */
export const rowsByHashSql = (side: HashSide, columns: ReadonlyArray<HashColumn>): string =>
  `select ${rowTextSql(columns)} as r, ${rowHashSql(columns)}::text as h from ${side.from}
   where ${side.filter} and ${rowHashSql(columns)} = any($${side.params.length + 1}::int8[])`
