/**
 * Fast path for runs of new rows: `COPY ... FROM STDIN` straight into the target. Destination parsing of
 * COPY text is about twice as fast as unnest arrays with ON CONFLICT, which is what bulk loads and
 * append-only workloads need. It is taken only for complete rows of batches that hold nothing but inserts;
 * positions make replays skip what a table already has, so a key conflict means rows that came from
 * elsewhere (an upsert-copy, rows written by hand): it throws CopyConflict, the batch's transaction is
 * rolled back and run again (see Transaction), and the table does not try COPY again for a while. No
 * savepoint: the rare conflict costs a second attempt, the common case two fewer round trips per batch.
 *
 * A bulk COPY is not ended when its batch is written: while the mailbox holds more inserts of the same
 * relation they are streamed into it (see MoreRows, Sink.Extend), so the destination keeps parsing rows
 * while this thread decodes the next ones, instead of the two taking turns once per batch.
 */
import type pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import type { Cells } from "./ApplyPlan.js"
import type { TargetSql } from "./ApplySql.js"

/** below this many rows the upsert is as fast as COPY, and cheaper should the COPY meet a key */
export const COPY_MIN_ROWS = 256
const RETRY_AFTER_MS = 60_000
const CHUNK_CHARS = 1 << 16
/**
 * COPY data queued ahead of the socket before waiting for it to drain: the whole of a usual batch, so the
 * destination reads at its own pace instead of at the pace this event loop gets round to refilling it
 */
const MAX_BUFFERED = 8 << 20

const conflictedAt = new Map<string, number>()

/** a COPY hit a key conflict: the transaction must be rolled back and the batch applied by upsert */
export class CopyConflict extends Error {
  constructor(
    readonly table: string,
    override readonly cause: unknown
  ) {
    super(`COPY into ${table} met an existing key`)
  }
}

const ESCAPED = /[\\\n\r\t]/
const ESCAPES = /[\\\n\r\t]/g
const escapeOf = (ch: string) => (ch === "\\" ? "\\\\" : ch === "\n" ? "\\n" : ch === "\r" ? "\\r" : "\\t")

/** one COPY text field: backslash, newline, carriage return and tab escaped, NULL as \N */
export const copyField = (v: string | null | undefined): string =>
  v === null || v === undefined ? "\\N" : ESCAPED.test(v) ? v.replace(ESCAPES, escapeOf) : v

/** COPY text lines of `rows` at `columns`, in pieces of about CHUNK_CHARS characters */
export function* copyText(columns: ReadonlyArray<number>, rows: ReadonlyArray<Cells>): Generator<string> {
  let out = ""
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) out += "\t"
      out += copyField(row[columns[i]!])
    }
    out += "\n"
    if (out.length >= CHUNK_CHARS) {
      yield out
      out = ""
    }
  }
  if (out.length > 0) yield out
}

export const copyWanted = (t: TargetSql, rows: number, now = Date.now()): boolean => {
  if (rows < COPY_MIN_ROWS) return false
  const at = conflictedAt.get(t.table)
  return at === undefined || now - at > RETRY_AFTER_MS
}

/** more rows for a COPY being written, taken without waiting (at most `max`); [] when there are none now */
export type MoreRows = (max: number) => ReadonlyArray<Cells>

/** a COPY extended by `MoreRows` ends at this many rows, after this long, or when two turns bring none */
const EXTEND_MAX_ROWS = 50_000
const EXTEND_MAX_MS = 250
/**
 * rows `MoreRows` brought are held until there are this many (or the COPY ends) before they are written: a
 * turn brings a few dozen, and a piece per turn cost two socket writes and a fresh piece buffer each
 */
const EXTEND_PIECE_ROWS = 1024

/** COPY text of some rows, in pieces */
export type CopyText<R> = (rows: ReadonlyArray<R>) => Iterator<string | Buffer>

const copyRows = <R>(
  client: pg.ClientBase,
  t: TargetSql,
  names: string,
  rows: ReadonlyArray<R>,
  text: CopyText<R>,
  more: ((max: number) => ReadonlyArray<R>) | undefined
) =>
  new Promise<number>((resolve, reject) => {
    const stream = client.query(copyFrom(`COPY ${t.table} (${names}) FROM STDIN`))
    let failed = false
    let count = rows.length
    let idle = 0
    let held: Array<ReadonlyArray<R>> = []
    let heldRows = 0
    const started = Date.now()
    stream.on("error", (err) => {
      failed = true
      reject(err)
    })
    stream.on("finish", () => resolve(count))
    let pieces = text(rows)
    const pump = (): void => {
      if (failed) return
      for (let r = pieces.next(); !r.done; r = pieces.next()) {
        if (!stream.write(r.value) && stream.writableLength >= MAX_BUFFERED) return void stream.once("drain", pump)
      }
      const ending =
        more === undefined || idle >= 2 || count >= EXTEND_MAX_ROWS || Date.now() - started >= EXTEND_MAX_MS
      if (heldRows > 0 && (ending || heldRows >= EXTEND_PIECE_ROWS)) {
        pieces = text(held.length === 1 ? held[0]! : held.flat())
        held = []
        heldRows = 0
        return pump()
      }
      if (ending) return void stream.end()
      setImmediate(() => {
        if (failed) return
        const extra = more(EXTEND_MAX_ROWS - count)
        if (extra.length === 0) idle++
        else {
          idle = 0
          count += extra.length
          held.push(extra)
          heldRows += extra.length
        }
        pump()
      })
    }
    pump()
  })

/**
 * COPYs `rows`, and the rows `more` brings while it runs, as `text` writes them into the columns `names`
 * (quoted, comma-separated); returns how many it wrote. A key conflict is thrown as CopyConflict, any other
 * error as it came.
 */
export const copyThrough = async <R>(
  client: pg.ClientBase,
  t: TargetSql,
  names: string,
  rows: ReadonlyArray<R>,
  text: CopyText<R>,
  more?: (max: number) => ReadonlyArray<R>
): Promise<number> => {
  try {
    return await copyRows(client, t, names, rows, text, more)
  } catch (err) {
    if ((err as { code?: string }).code !== "23505") throw err
    conflictedAt.set(t.table, Date.now())
    throw new CopyConflict(t.table, err)
  }
}

/**
 * COPYs `rows`, and the rows `more` brings while it runs, into the target; returns how many it wrote. A
 * key conflict is thrown as CopyConflict, any other error as it came.
 */
export const copyInsert = (
  client: pg.ClientBase,
  t: TargetSql,
  columns: ReadonlyArray<number>,
  rows: ReadonlyArray<Cells>,
  more?: MoreRows
): Promise<number> =>
  copyThrough(client, t, columns.map((p) => t.names[p]!).join(", "), rows, (r) => copyText(columns, r), more)
