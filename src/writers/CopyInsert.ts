/**
 * Fast path for runs of new rows: `COPY ... FROM STDIN` straight into the target, inside a savepoint.
 * Destination parsing of COPY text is about twice as fast as unnest arrays with ON CONFLICT, which is what
 * bulk loads and append-only workloads need. It is taken only for complete rows of batches that hold
 * nothing but inserts; positions make replays skip what a table already has, so a key conflict means rows
 * that came from elsewhere (an upsert-copy, rows written by hand): the savepoint is rolled back, the rows go
 * through the upsert instead, and the table does not try COPY again for a while.
 */
import type pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import type { Cells } from "./ApplyPlan.js"
import type { TargetSql } from "./ApplySql.js"

/** below this many rows an upsert costs fewer round trips than savepoint + COPY + release */
export const COPY_MIN_ROWS = 256
const RETRY_AFTER_MS = 60_000
const CHUNK_CHARS = 1 << 16

const conflictedAt = new Map<string, number>()

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

const copyRows = (client: pg.ClientBase, t: TargetSql, columns: ReadonlyArray<number>, rows: ReadonlyArray<Cells>) =>
  new Promise<void>((resolve, reject) => {
    const names = columns.map((p) => t.names[p]!).join(", ")
    const stream = client.query(copyFrom(`COPY ${t.table} (${names}) FROM STDIN`))
    stream.on("error", reject)
    stream.on("finish", () => resolve())
    const pieces = copyText(columns, rows)
    const pump = () => {
      for (let r = pieces.next(); !r.done; r = pieces.next()) {
        if (!stream.write(r.value)) return void stream.once("drain", pump)
      }
      stream.end()
    }
    pump()
  })

/**
 * COPYs `rows` into the target; true when they were written, false when a key conflict rolled the attempt
 * back (the caller then upserts them). Any other error is thrown as it came.
 */
export const copyInsert = async (
  client: pg.ClientBase,
  t: TargetSql,
  columns: ReadonlyArray<number>,
  rows: ReadonlyArray<Cells>
): Promise<boolean> => {
  await client.query("SAVEPOINT walferry_copy")
  try {
    await copyRows(client, t, columns, rows)
  } catch (err) {
    if ((err as { code?: string }).code !== "23505") throw err
    await client.query("ROLLBACK TO SAVEPOINT walferry_copy")
    conflictedAt.set(t.table, Date.now())
    return false
  }
  await client.query("RELEASE SAVEPOINT walferry_copy")
  return true
}
