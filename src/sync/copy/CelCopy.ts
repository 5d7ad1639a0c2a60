/**
 * The initial copy of a table with a CEL `filter` or `set`: a Transform between the source's COPY text and
 * the destination's, applying the same expressions as the stream (see route/RowTransform). Each source row
 * arrives as `[sid] <every source column> [history columns]`; a row the filter rejects is dropped, a `set`
 * replaces the source columns by its computed ones (those the destination has). `now` is the time the copy
 * started (the snapshot's). A row whose evaluation fails is not copied: it is counted and reported, as
 * when streaming.
 */
import { Transform, type TransformCallback } from "node:stream"
import type { Tuple } from "../../domain/Change.js"
import { bindRow, passes, project, type CompiledExpressions } from "../../route/RowExpressions.js"
import type { RowFailure } from "../../route/RowTransform.js"

export interface CelCopy {
  readonly compiled: CompiledExpressions
  /** leading pass-through fields (the sid literal) */
  readonly prefix: number
  /** source columns, after the prefix */
  readonly columns: ReadonlyArray<string>
  /** positions in `columns` of the source key, for failure reports */
  readonly keyIndexes: ReadonlyArray<number>
  /** with `set`: the set positions written, in `into` order */
  readonly keep: ReadonlyArray<number> | undefined
  readonly onFailure: (failure: RowFailure) => void
  readonly table: string
}

const NEWLINE = 10

const unescape = (field: string): string | null => {
  if (field === "\\N") return null
  if (!field.includes("\\")) return field
  return field.replace(/\\(.)/g, (_m, c: string) =>
    c === "n" ? "\n" : c === "t" ? "\t" : c === "r" ? "\r" : c === "b" ? "\b" : c === "f" ? "\f" : c === "v" ? "\v" : c
  )
}

const escape = (value: string | null | undefined): string =>
  value === null || value === undefined
    ? "\\N"
    : value.replace(/[\\\n\r\t]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t"))

export class CelRows extends Transform {
  private rest: Buffer | undefined = undefined
  private readonly now = new Date()

  constructor(private readonly cel: CelCopy) {
    super()
  }

  override _transform(block: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const data = this.rest ? Buffer.concat([this.rest, block]) : block
    const last = data.lastIndexOf(NEWLINE)
    if (last < 0) {
      this.rest = data
      return done()
    }
    this.rest = last + 1 < data.length ? data.subarray(last + 1) : undefined
    const lines = data.toString("utf8", 0, last).split("\n")
    let out = ""
    for (const line of lines) {
      const row = this.row(line)
      if (row !== undefined) out += row + "\n"
    }
    done(null, out.length > 0 ? Buffer.from(out, "utf8") : undefined)
  }

  override _flush(done: TransformCallback): void {
    const row = this.rest === undefined ? undefined : this.row(this.rest.toString("utf8"))
    done(null, row === undefined ? undefined : row + "\n")
  }

  /** the output line of one input line, undefined when it is dropped */
  private row(line: string): string | undefined {
    const { compiled, prefix, columns, keep } = this.cel
    const fields = line.split("\t")
    const values: Tuple = fields.slice(prefix, prefix + columns.length).map(unescape)
    try {
      const ctx = bindRow(compiled, values, this.now)
      if (!passes(compiled, ctx)) return undefined
      if (keep === undefined) return line
      const set = project(compiled, ctx, false)
      const out = fields.slice(0, prefix)
      for (const k of keep) out.push(escape(set[k]))
      for (let i = prefix + columns.length; i < fields.length; i++) out.push(fields[i]!)
      return out.join("\t")
    } catch (e) {
      const key = this.cel.keyIndexes.map((i) => `${columns[i]}=${values[i] ?? "NULL"}`).join(", ")
      this.cel.onFailure({ table: this.cel.table, key, detail: e instanceof Error ? e.message : String(e) })
      return undefined
    }
  }
}
