/**
 * A history table made for kuvasz-streamer has its start, end and deleted columns but not walferry's
 * position column (`kvsz_lsn`), which makes replays exactly-once version by version (HistorySql).
 * `ensureHistoryPosition` adds it as a nullable `numeric` (a catalog-only change: no table rewrite; the
 * versions already there read NULL, which sorts before every streamed change), logged, and only when:
 * - the mapping allows it (`add_position_column`, default true),
 * - the table has the other three history columns (anything else is left to historyTargetOf to report),
 * - the destination role owns the table (otherwise walferry may not alter it: a warning, and the table
 *   stays stopped with the column named until someone adds it).
 * It waits at most 10 s for the table's lock, so a long query on the table delays it rather than queueing
 * every reader behind it. Idempotent (`add column if not exists`), safe when several processes race.
 */
import { Effect } from "effect"
import type pg from "pg"
import type { TableMapping } from "../../config/Config.js"
import { qualified, query, quoteIdent, type QueryFailed } from "../../lib/Sql.js"
import { describeTargetTable, type TargetTable } from "../../target/TargetCatalog.js"

const OWNED = "select pg_has_role(c.relowner, 'USAGE') as owned from pg_class c where c.oid = $1"

export const ensureHistoryPosition = (
  client: pg.ClientBase,
  table: TargetTable,
  mapping: Pick<TableMapping, "mode" | "history" | "addPositionColumn">
): Effect.Effect<TargetTable, QueryFailed> =>
  Effect.gen(function* () {
    const h = mapping.history
    const has = (name: string) => table.columns.some((c) => c.name === name)
    if (mapping.mode !== "history" || has(h.lsn) || ![h.start, h.end, h.deleted].every(has)) return table
    const name = qualified(table.schema, table.name)
    if (mapping.addPositionColumn === false) {
      yield* Effect.logWarning(
        `history table ${name} has no position column "${h.lsn}" and add_position_column is false: it stays stopped`
      )
      return table
    }
    const [row] = yield* query<{ owned: boolean }>(client, OWNED, [table.oid])
    if (row?.owned !== true) {
      yield* Effect.logWarning(
        `history table ${name} has no position column "${h.lsn}" and the destination role does not own it, so ` +
          `walferry may not add it: run  alter table ${name} add column ${quoteIdent(h.lsn)} numeric`
      )
      return table
    }
    yield* Effect.acquireUseRelease(
      query(client, "begin"),
      () =>
        Effect.gen(function* () {
          yield* query(client, "set local lock_timeout = '10s'")
          yield* query(client, `alter table ${name} add column if not exists ${quoteIdent(h.lsn)} numeric`)
          yield* query(client, "commit")
        }),
      (_, exit) => (exit._tag === "Success" ? Effect.void : query(client, "rollback").pipe(Effect.ignore))
    )
    yield* Effect.logInfo(
      `added position column ${quoteIdent(h.lsn)} numeric to history table ${name} (made for kuvasz-streamer): ` +
        `its existing versions are kept as they are`
    )
    return (yield* describeTargetTable(client, table.schema, table.name)) ?? table
  })
