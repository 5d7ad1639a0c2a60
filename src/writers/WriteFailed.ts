import { Data } from "effect"

/**
 * A destination batch failed and was rolled back. `retryable` is decided once, at the sink boundary,
 * from the SQLSTATE: transient failures restart the pipeline, permanent ones stop the table.
 */
export class WriteFailed extends Data.TaggedError("WriteFailed")<{
  readonly table: string
  readonly retryable: boolean
  readonly sqlstate: string | undefined
  readonly column: string | undefined
  readonly detail: string
}> {
  override get message() {
    const col = this.column ? ` column "${this.column}":` : ""
    const code = this.sqlstate ? ` ${this.sqlstate}` : ""
    return `table ${this.table}:${col}${code} ${this.detail}`
  }
}
