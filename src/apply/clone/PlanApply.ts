/**
 * Runs a folded plan (BatchFold) step by step inside the caller's transaction: each step becomes one or a few
 * set-based statements of ApplySql, at most MAX_ROWS rows each; splitting a step into consecutive statements
 * keeps its meaning because the rows of a step never depend on each other. New rows may go through COPY
 * (CopyInsert). While an online copy of the table runs for a change's source, rows an update would insert
 * partially are checked against the destination first (see CloneApply).
 */
import type pg from "pg"
import { SID_COLUMN, type ApplyTarget } from "../ApplyTarget.js"
import * as ApplySql from "./ApplySql.js"
import { CopyConflict, copyInsert, copyWanted, type MoreRows } from "./CopyInsert.js"
import { encodeCells, type Cells, type FoldMode, type Plan, type Step } from "./ApplyPlan.js"
import type { ColumnMap } from "../ColumnMap.js"
import { statementName } from "../../sink/StatementNames.js"
import { applyError } from "../../sink/SqlState.js"
import { recordMissing } from "../../sync/watermark/MissingRows.js"

export type ApplyMode = FoldMode

export interface ApplyStats {
  /** statements sent to the destination */
  readonly statements: number
  /** destination rows inserted or updated */
  readonly written: number
  /** of which inserted through COPY */
  readonly copied: number
  readonly deleted: number
  readonly truncates: number
  /** deletes and keyless updates that found no destination row */
  readonly missed: number
  /** changes dropped by the mode (append: deletes and truncates) */
  readonly skipped: number
  /** the positions given to applyBatch were saved by the same statement (SingleStatement) */
  readonly positionsSaved?: boolean
}

export const MAX_ROWS = 20_000

const chunks = <A>(rows: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  if (rows.length <= MAX_ROWS) return [rows]
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < rows.length; i += MAX_ROWS) out.push(rows.slice(i, i + MAX_ROWS))
  return out
}

/** consecutive runs without a repeated conflict key: ON CONFLICT cannot affect a row twice in one statement */
const distinctRuns = (rows: ReadonlyArray<Cells>, positions: ReadonlyArray<number>): Array<ReadonlyArray<Cells>> => {
  const out: Array<ReadonlyArray<Cells>> = []
  let run: Array<Cells> = []
  let seen = new Set<string>()
  for (const row of rows) {
    const key = encodeCells(row, positions)
    if (seen.has(key) || run.length >= MAX_ROWS) {
      out.push(run)
      run = []
      seen = new Set()
    }
    seen.add(key)
    run.push(row)
  }
  if (run.length > 0) out.push(run)
  return out
}

export interface Counts {
  [name: string]: number
}

/** the sources of a batch whose online copy of the target runs */
export interface OnlineCopy {
  /** the copying source a row comes from, or undefined */
  readonly sourceOf: (map: ColumnMap, cells: Cells) => string | undefined
}

export const applyPlan = async (
  client: pg.ClientBase,
  target: ApplyTarget,
  plan: Plan,
  online?: OnlineCopy,
  insertsOnly = false,
  more?: MoreRows
): Promise<ApplyStats> => {
  const t = ApplySql.targetSql(target)
  const stats = { statements: 0, written: 0, copied: 0, deleted: 0, truncates: 0, missed: 0, skipped: plan.skipped }
  const run = async (sql: ApplySql.Sql): Promise<pg.QueryResult<Counts>> => {
    stats.statements++
    try {
      return await client.query<Counts>({ text: sql.text, name: statementName(sql.text), values: sql.values })
    } catch (err) {
      throw applyError(err, target)
    }
  }
  const one = async (sql: ApplySql.Sql): Promise<Counts> => (await run(sql)).rows[0]!
  /** new rows through COPY (CopyInsert); false when not wanted. A key conflict throws CopyConflict */
  const copied = async (columns: ReadonlyArray<number>, rows: ReadonlyArray<Cells>): Promise<boolean> => {
    if (!copyWanted(t, rows.length)) return false
    stats.statements++
    const n = await copyInsert(client, t, columns, rows, more).catch((err: unknown) => {
      throw err instanceof CopyConflict ? err : applyError(err, target)
    })
    stats.written += n
    stats.copied += n
    return true
  }

  /** the rows to apply: those of sources not copying, and the others found on the destination */
  const present = async <R>(
    map: ColumnMap,
    rows: ReadonlyArray<R>,
    cellsOf: (r: R) => Cells,
    images: (r: R) => ReadonlyArray<Cells>
  ): Promise<{ readonly keep: ReadonlyArray<R>; readonly lost: ReadonlyArray<R> }> => {
    if (online === undefined) return { keep: rows, lost: [] }
    const keep: Array<R> = []
    const covered: Array<R> = []
    for (const r of rows) (online.sourceOf(map, cellsOf(r)) === undefined ? keep : covered).push(r)
    const lost: Array<R> = []
    for (const part of chunks(covered)) {
      const found = new Set((await run(ApplySql.existingSql(t, map.key, part.map(images)))).rows.map((r) => r.n!))
      part.forEach((r, i) => (found.has(i + 1) ? keep : lost).push(r))
    }
    stats.missed += lost.length
    return { keep, lost }
  }

  const step = async (s: Step): Promise<void> => {
    switch (s._tag) {
      case "Truncate": {
        await run(
          ApplySql.truncateSql(
            t,
            target.columns.findIndex((c) => c.name === SID_COLUMN),
            s.sid
          )
        )
        stats.truncates++
        return
      }
      case "Write": {
        if (insertsOnly && s.complete && s.map.conflictIsKey && (await copied(s.columns, s.rows))) return
        if (s.complete && s.map.conflict.length > 0) {
          const parts = s.map.conflictIsKey ? chunks(s.rows) : distinctRuns(s.rows, s.map.conflict)
          for (const rows of parts)
            stats.written +=
              (await run(ApplySql.upsertSql(t, s.map, s.columns, ApplySql.cellArrays(s.columns, rows)))).rowCount ?? 0
        } else {
          const { keep } = s.complete ? { keep: s.rows } : await present(s.map, s.rows, self, (r) => [r])
          for (const rows of chunks(keep)) {
            const c = await one(ApplySql.mergeSql(t, s.map, s.columns, rows))
            stats.written += c.updated! + c.inserted!
          }
        }
        return
      }
      case "Delete": {
        for (const rows of chunks(s.rows)) {
          const deleted = (await run(ApplySql.deleteSql(t, s.map, rows))).rowCount ?? 0
          stats.deleted += deleted
          stats.missed += Math.max(0, rows.length - deleted)
        }
        return
      }
      case "Move": {
        const { keep, lost } = await present(
          s.map,
          s.rows,
          (r) => r.cells,
          (r) => [r.old, r.cells]
        )
        if (lost.length > 0) {
          const names = s.map.key.filter((p) => p !== s.map.sidPosition)
          const keys = lost.map((r) => ({
            source: online!.sourceOf(s.map, r.cells)!,
            key: Object.fromEntries(names.map((p) => [target.columns[p]!.name, r.cells[p] ?? null]))
          }))
          await recordMissing(client, target.name, keys).catch((err: unknown) => {
            throw applyError(err, target)
          })
        }
        for (const rows of chunks(keep)) {
          const c = await one(ApplySql.moveSql(t, s.map, s.columns, rows))
          stats.written += c.moved! + c.updated! + c.inserted!
        }
        return
      }
      case "FullRow": {
        if (
          s.rows.every((r) => r.old === null) &&
          (await copied(
            s.map.mapped,
            s.rows.map((r) => r.cells!)
          ))
        )
          return
        for (const rows of chunks(s.rows)) {
          if (rows.every((r) => r.old === null)) {
            const cells = rows.map((r) => r.cells!)
            stats.written +=
              (await run(ApplySql.insertSql(t, s.map.mapped, ApplySql.cellArrays(s.map.mapped, cells)))).rowCount ?? 0
            continue
          }
          const c = await one(ApplySql.fullRowSql(t, s.map, rows))
          stats.written += c.inserted! + c.updated!
          stats.deleted += c.deleted!
          stats.missed += c.wanted! - c.updated! - c.deleted!
        }
        return
      }
    }
  }

  for (const s of plan.steps) await step(s)
  return stats
}

const self = (c: Cells) => c
