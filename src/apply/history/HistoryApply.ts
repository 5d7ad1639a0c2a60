/**
 * Applies a batch of changes to one history (SCD type 2) table inside the caller's transaction (the caller
 * runs BEGIN/COMMIT and saves positions): HistoryFold replays the batch key by key, then each segment
 * takes one INSERT of its versions and one UPDATE of its closes (more only past MAX_ROWS rows), in that
 * order so that unchanged-TOAST values are read from versions before they close.
 *
 * Guarantees: only the open version of the changed key is closed, never twice; a version is never stored
 * twice; applying a batch again, or a batch whose prefix was applied, leaves the same rows. TRUNCATE is a
 * no-op (counted as skipped): history keeps every version. Keyless tables accept inserts only. A destination
 * key over (business key, start) cannot hold two versions opened in one source transaction: use a surrogate.
 */
import type pg from "pg"
import type { Change } from "../../domain/Change.js"
import { targetSql, type Sql } from "../clone/ApplySql.js"
import { MAX_ROWS, type ApplyStats } from "../clone/CloneApply.js"
import { foldHistory, type HistoryPlan } from "./HistoryFold.js"
import { closeSql, openSql } from "./HistorySql.js"
import type { HistoryTarget } from "./HistoryTarget.js"
import { applyError } from "../../sink/SqlState.js"
import { statementName } from "../../sink/StatementNames.js"

const chunks = <A>(rows: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < rows.length; i += MAX_ROWS) out.push(rows.slice(i, i + MAX_ROWS))
  return out
}

interface Counts {
  readonly closed: number
  readonly deleted: number
  readonly missed: number
}

export const applyHistory = async (
  client: pg.ClientBase,
  target: HistoryTarget,
  batch: ReadonlyArray<Change>
): Promise<ApplyStats> => {
  let plan: HistoryPlan
  try {
    plan = foldHistory(target, batch)
  } catch (err) {
    throw applyError(err, target)
  }
  const t = targetSql(target)
  const stats = { statements: 0, written: 0, copied: 0, deleted: 0, truncates: 0, missed: 0, skipped: plan.skipped }
  const run = async <R extends pg.QueryResultRow>(sql: Sql): Promise<pg.QueryResult<R>> => {
    stats.statements++
    try {
      return await client.query<R>({ text: sql.text, name: statementName(sql.text), values: sql.values })
    } catch (err) {
      throw applyError(err, target)
    }
  }
  for (const seg of plan.segments) {
    let inserted = 0
    for (const rows of chunks(seg.versions)) inserted += (await run(openSql(t, seg.map, rows))).rowCount ?? 0
    stats.written += inserted
    // when every version is new, the exact closes only target versions just written closed
    const closes = inserted === seg.versions.length ? seg.closes.filter((c) => c.at === null) : seg.closes
    for (const rows of chunks(closes)) {
      const c = (await run<Counts>(closeSql(t, seg.map, rows))).rows[0]!
      stats.written += c.closed
      stats.deleted += c.deleted
      stats.missed += c.missed
    }
  }
  return stats
}
