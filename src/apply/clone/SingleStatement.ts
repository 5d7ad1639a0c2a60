/**
 * A batch whose plan is a few commuting set-based steps (upserts by key, deletes by key, update-else-insert
 * of rows with unchanged-TOAST gaps, or a plain insert too small for COPY) is sent together with the
 * table's positions as ONE statement: each step and the positions upsert are data-modifying CTEs of one
 * query, which Postgres runs atomically in its own implicit transaction, as a named prepared statement. One
 * round trip instead of BEGIN, one per step, the positions and COMMIT: what small batches of an OLTP stream
 * (a hot table changed once per source transaction) spend most of their time on.
 *
 * Steps may share a statement only when they commute: all CTEs of a statement see the same snapshot and
 * none sees another's rows. BatchFold emits the steps of one segment (one column map, no key moves, no
 * truncate between them) for distinct keys, so a plan whose steps are only Write and Delete steps of one
 * map touches each key in one step. Plans with key moves, truncates, keyless updates, COPY-sized inserts,
 * several maps, conflict targets other than the key, batches meeting an online copy and history tables
 * keep the explicit transaction of PgSink.
 *
 * Guarantee: the same as the transaction it replaces — the rows and the positions commit together or not at
 * all, so a replay skips exactly what was committed.
 */
import type * as ApplySql from "./ApplySql.js"
import { cellArrays, deleteSql, insertSql, mergeCtes, upsertSql } from "./ApplySql.js"
import type { Plan } from "./ApplyPlan.js"
import { copyWanted } from "./CopyInsert.js"
import type { ColumnMap } from "../ColumnMap.js"
import type { RawInsert } from "../../domain/RawInsert.js"
import { rawInsertArrays } from "./RowArrays.js"
import { statementName, TextCache } from "../../sink/StatementNames.js"

/** what a counted CTE's count means */
export type SingleKind = "written" | "deleted"

export interface Counted {
  readonly name: string
  readonly kind: SingleKind
  /** rows the step was given */
  readonly rows: number
}

/** marks a query config for Transaction: sent on its own, outside BEGIN/COMMIT */
export interface Standalone {
  readonly text: string
  readonly name: string | undefined
  readonly values: Array<unknown>
  readonly standalone: true
}

export interface Single {
  readonly query: Standalone
  /** the result row has one int column per counted CTE */
  readonly counted: ReadonlyArray<Counted>
}

/** most steps one statement takes (a plan has one step per set of present columns) */
export const MAX_STEPS = 8

/** a step's statement text (the same string batch after batch) and, for a lone statement, its CTE's name */
interface Part {
  readonly sql: string
  readonly name: string | undefined
  readonly values: Array<unknown>
  readonly counted: ReadonlyArray<Counted>
}

const cte = (p: Part): string => (p.name === undefined ? p.sql : `${p.name} AS (${p.sql} RETURNING 1)`)

/** statement texts by their parts: a one-step plan (most batches) by the step's and the positions' cached texts */
const combined = new TextCache()

const textFor = (parts: ReadonlyArray<Part>, positions: string, build: () => string): string =>
  parts.length === 1
    ? combined.getBy(parts[0]!.sql, positions, build)
    : combined.get(`${parts.map((p) => p.sql).join("\u0000")}\u0000${positions}`, build)

/**
 * the plan as one statement with `positions`, or undefined when it needs the general path. `partial`: rows
 * with unchanged-TOAST gaps may be written here (no online copy of the table runs for the batch's sources)
 */
export const singleWrite = (
  t: ApplySql.TargetSql,
  plan: Plan,
  maxRows: number,
  positions: ApplySql.Sql,
  partial: boolean
): Single | undefined => {
  const steps = plan.steps
  if (steps.length === 0 || steps.length > MAX_STEPS) return undefined
  const map = steps[0]!._tag === "Truncate" ? undefined : steps[0]!.map
  const parts: Array<Part> = []
  let offset = 0
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!
    const name = `w${i}`
    let part: Part
    switch (s._tag) {
      case "Write": {
        if (s.map !== map || s.count > maxRows) return undefined
        if (s.complete) {
          if (!s.map.conflictIsKey) return undefined
          const sql = upsertSql(t, s.map, s.columns, s.arrays(), offset)
          const counted = [{ name, kind: "written", rows: s.count } as const]
          part = { sql: sql.text, name, values: sql.values, counted }
        } else {
          if (!partial) return undefined
          const m = mergeCtes(t, s.map, s.columns, s.rows, `${name}_`, offset)
          const counted = [written(m.updated, s.rows), written(m.inserted, s.rows)]
          part = { sql: m.text, name: undefined, values: m.values, counted }
        }
        break
      }
      case "Delete": {
        if (s.map !== map || s.rows.length > maxRows) return undefined
        const sql = deleteSql(t, s.map, s.rows, offset)
        const counted = [{ name, kind: "deleted", rows: s.rows.length } as const]
        part = { sql: sql.text, name, values: sql.values, counted }
        break
      }
      case "FullRow": {
        if (steps.length !== 1 || s.rows.length > maxRows || copyWanted(t, s.rows.length)) return undefined
        const cells = []
        for (const r of s.rows) {
          if (r.old !== null) return undefined
          cells.push(r.cells!)
        }
        const sql = insertSql(t, s.map.mapped, cellArrays(s.map.mapped, cells), offset)
        part = { sql: sql.text, name, values: sql.values, counted: [written(name, cells)] }
        break
      }
      default:
        return undefined
    }
    parts.push(part)
    offset += part.values.length
  }
  return { query: withPositions(parts, positions), counted: parts.flatMap((p) => p.counted) }
}

/**
 * raw inserts of one relation and source (RowArrays) with `positions` as one statement, their values
 * written from their bytes: the upsert of the folded path on a keyed table, a plain insert on a keyless one
 */
export const rawInsertWrite = (
  t: ApplySql.TargetSql,
  map: ColumnMap,
  rows: ReadonlyArray<RawInsert>,
  positions: ApplySql.Sql
): Single => {
  const arrays = rawInsertArrays(map, rows)
  const sql = map.mode === "keyed" ? upsertSql(t, map, map.mapped, arrays) : insertSql(t, map.mapped, arrays)
  const part = { sql: sql.text, name: "w0", values: sql.values, counted: [written("w0", rows)] }
  return { query: withPositions([part], positions), counted: part.counted }
}

const written = (name: string, rows: ReadonlyArray<unknown>): Counted => ({ name, kind: "written", rows: rows.length })

/** `WITH <steps>, p AS (<positions> RETURNING 1) SELECT <count of each step>`, a prepared statement */
const withPositions = (parts: ReadonlyArray<Part>, positions: ApplySql.Sql): Standalone => {
  const values: Array<unknown> = []
  for (const p of parts) for (const v of p.values) values.push(v)
  const offset = values.length
  for (const v of positions.values) values.push(v)
  const text = textFor(parts, positions.text, () => {
    const ctes = parts.map(cte).join(", ")
    const shifted = positions.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)
    const counts = parts
      .flatMap((p) => p.counted)
      .map((c) => `(SELECT count(*) FROM ${c.name})::int AS ${c.name}`)
      .join(", ")
    return `WITH ${ctes}, p AS (${shifted} RETURNING 1) SELECT ${counts}`
  })
  return { text, name: statementName(text), values, standalone: true }
}
