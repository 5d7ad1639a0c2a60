/**
 * What comparing one mapped table from one source URL needs, derived from the initial copy's view of it
 * (SyncTable: the columns both sides have, sid and history columns set apart, the source key) so verify
 * compares exactly what walferry writes:
 * - columns: the mapped columns (present on both sides, not generated, not sid or history columns);
 * - source side: every row; destination side: this sid's rows of a shared target, and for history only the
 *   open versions (end within a day of OPEN_END, or null; not deleted);
 * - key: the source primary key (else replica identity index), which must be mapped; none: keyless.
 */
import { Effect } from "effect"
import type pg from "pg"
import type { SourceUrl, TableMapping, TableMode } from "../config/Config.js"
import { qualified, quoteIdent } from "../lib/Sql.js"
import { describeSyncTable, type SyncTable } from "../sync/SyncTable.js"
import { OPEN_END } from "../apply/history/HistoryTarget.js"
import type { HashColumn, HashSide } from "./HashSql.js"
import { VerifyFailed } from "./VerifyDb.js"

export interface VerifyTable {
  readonly sync: SyncTable
  readonly label: string
  readonly target: string
  /** `database/sid` */
  readonly source: string
  readonly sid: string | undefined
  readonly mode: TableMode
  readonly columns: ReadonlyArray<string>
  /** the compared columns as hashed */
  readonly hashed: ReadonlyArray<HashColumn>
  /** source key column names, [] = keyless */
  readonly key: ReadonlyArray<string>
  readonly sourceSide: HashSide
  readonly destinationSide: HashSide
}

const historyOpen = (m: TableMapping) => {
  const end = quoteIdent(m.history.end)
  return (
    `(${end} is null or ${end} > '${OPEN_END}'::timestamptz - interval '1 day') ` +
    `and not coalesce(${quoteIdent(m.history.deleted)}, false)`
  )
}

export const describeVerifyTable = (
  src: pg.ClientBase,
  dst: pg.ClientBase,
  destSchema: string,
  database: string,
  url: SourceUrl,
  mapping: TableMapping
): Effect.Effect<VerifyTable, VerifyFailed> =>
  Effect.gen(function* () {
    const label = `${mapping.schema}.${mapping.name}`
    const sync = yield* describeSyncTable(src, dst, destSchema, mapping, url.sid).pipe(
      Effect.mapError((e) => new VerifyFailed({ table: label, message: e.detail }))
    )
    const h = mapping.history
    const apart = new Set(["sid", ...(mapping.mode === "history" ? [h.start, h.end, h.deleted, h.lsn] : [])])
    const columns = sync.into.filter((c) => !apart.has(c))
    const hashed = columns.map((name): HashColumn => {
      const s = sync.source.columns.find((c) => c.name === name)?.typeName
      const d = sync.dest.columns.find((c) => c.name === name)?.typeName
      return { name, sameType: s !== undefined && s === d ? s : undefined }
    })
    const key = sync.key.map((c) => c.name)
    const unmapped = key.filter((k) => !columns.includes(k))
    if (unmapped.length > 0) {
      return yield* new VerifyFailed({
        table: label,
        message: `key column(s) ${unmapped.join(", ")} of the source are not columns of ${destSchema}.${mapping.target}`
      })
    }
    const filters = [
      ...(sync.hasSid ? ['"sid" = $1'] : []),
      ...(mapping.mode === "history" ? [historyOpen(mapping)] : [])
    ]
    return {
      sync,
      label,
      target: mapping.target,
      source: `${database}/${url.sid}`,
      sid: sync.hasSid ? url.sid : undefined,
      mode: mapping.mode,
      columns,
      hashed,
      key,
      sourceSide: { from: qualified(mapping.schema, mapping.name), filter: "true", params: [] },
      destinationSide: {
        from: sync.destSql,
        filter: filters.length === 0 ? "true" : filters.join(" and "),
        params: sync.hasSid ? [url.sid] : []
      }
    }
  })
