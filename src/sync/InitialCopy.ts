/**
 * Initial copy of tables into the destination: source `COPY TO` streamed into destination `COPY FROM`,
 * rows never materialised. With the slot's exported snapshot the copy sees exactly the transactions
 * before the slot's consistent point, and the stream delivers the rest: nothing lost, nothing twice.
 * The destination side (clear the target or this sid's rows, reset positions, COPY) is one transaction:
 * a failed copy leaves the table as it was.
 */
import { Data, Effect, Redacted } from "effect"
import { pipeline } from "node:stream/promises"
import pg from "pg"
import { from as copyFrom, to as copyTo } from "pg-copy-streams"
import type { SourceGroup, SourceUrl, TableMapping } from "../config/Config.js"
import { qualified, quoteIdent } from "../lib/Sql.js"
import { describeSourceTable } from "../source/SourceCatalog.js"
import type { SlotSnapshot } from "../source/SlotSnapshot.js"
import { Destination } from "../writers/Destination.js"
import { resetPositions } from "../writers/PositionStore.js"
import { describeTargetTable } from "../writers/TargetCatalog.js"

export class CopyFailed extends Data.TaggedError("CopyFailed")<{
  readonly table: string
  readonly detail: string
}> {
  override get message() {
    return `initial copy of ${this.table} failed: ${this.detail}`
  }
}

export interface CopyRequest {
  readonly group: SourceGroup
  readonly url: SourceUrl
  readonly source: string
  readonly tables: ReadonlyArray<TableMapping>
  readonly snapshot: SlotSnapshot | undefined
}

const SNAPSHOT_NAME = /^[0-9A-Fa-f-]+$/

const copyOne = async (req: CopyRequest, table: TableMapping, pool: pg.Pool, destSchema: string): Promise<number> => {
  const src = new pg.Client({ connectionString: Redacted.value(req.url.url), application_name: "walferry_copy" })
  src.on("error", () => undefined)
  await src.connect()
  const dst = await pool.connect()
  try {
    await src.query("begin isolation level repeatable read read only")
    if (req.snapshot) {
      if (!SNAPSHOT_NAME.test(req.snapshot.snapshotName)) throw new Error("unexpected snapshot name")
      await src.query(`set transaction snapshot '${req.snapshot.snapshotName}'`)
    }
    const source = await Effect.runPromise(describeSourceTable(src, table.schema, table.name))
    if (!source) throw new Error(`source table ${table.schema}.${table.name} does not exist`)
    const target = await Effect.runPromise(describeTargetTable(dst, destSchema, table.target))
    if (!target) throw new Error(`destination table ${destSchema}.${table.target} does not exist`)
    const sourceCols = new Set(source.columns.filter((c) => !c.isGenerated).map((c) => c.name))
    const cols = target.columns
      .filter((c) => !c.isGenerated && c.name !== "sid" && sourceCols.has(c.name))
      .map((c) => c.name)
    const { rows } = await src.query<{ q: string }>("select quote_literal($1::text) as q", [req.url.sid])
    const select = [...(target.hasSid ? [`${rows[0]!.q}::text`] : []), ...cols.map(quoteIdent)].join(", ")
    const into = [...(target.hasSid ? ["sid"] : []), ...cols].map(quoteIdent).join(", ")
    const dest = qualified(destSchema, table.target)
    await dst.query("begin")
    if (target.hasSid) await dst.query(`delete from ${dest} where sid = $1`, [req.url.sid])
    else await dst.query(`truncate ${dest}`)
    await resetPositions(dst, table.target, req.source)
    const reader = src.query(copyTo(`copy (select ${select} from ${qualified(table.schema, table.name)}) to stdout`))
    const writer = dst.query(copyFrom(`copy ${dest} (${into}) from stdin`))
    await pipeline(reader, writer)
    await dst.query("commit")
    await src.query("commit")
    return writer.rowCount
  } catch (e) {
    await dst.query("rollback").catch(() => undefined)
    throw e
  } finally {
    dst.release()
    await src.end().catch(() => undefined)
  }
}

export const copyTables = (req: CopyRequest) =>
  Effect.gen(function* () {
    const { pool, schema } = yield* Destination
    for (const table of req.tables) {
      const name = `${table.schema}.${table.name}`
      const started = Date.now()
      const rows = yield* Effect.tryPromise({
        try: () => copyOne(req, table, pool, schema),
        catch: (e) => new CopyFailed({ table: name, detail: e instanceof Error ? e.message : String(e) })
      })
      yield* Effect.logInfo(`copied ${rows} rows in ${Date.now() - started} ms`).pipe(
        Effect.annotateLogs({ table: name, target: table.target })
      )
    }
  })
