import type { Lsn } from "./Lsn.js"

/** one column of a source table as the capture trigger saw it; `attnum` survives renames and retypes */
export interface DdlColumn {
  readonly attnum: number
  readonly name: string
  /** format_type text, schema-qualified outside pg_catalog */
  readonly type: string
  readonly typeOid: number
  readonly typeMod: number
}

/**
 * A DDL command on one source table, recorded by walferry's event trigger in the command's own transaction:
 * the table's identity and columns before and after it. `before` is null for a table the trigger did not know
 * (CREATE TABLE); `after` is null for DROP TABLE.
 */
export interface DdlEvent {
  readonly command: string
  /** the table's identity before the command (what the mapping knew it as) */
  readonly schema: string
  readonly name: string
  /** its identity after the command (differs after ALTER TABLE … RENAME TO / SET SCHEMA) */
  readonly newSchema: string
  readonly newName: string
  /** the statement text as the client sent it (current_query()) */
  readonly statement: string
  readonly before: ReadonlyArray<DdlColumn> | null
  readonly after: ReadonlyArray<DdlColumn> | null
}

/**
 * A captured DDL routed to a table writer: ordered in its mailbox with the table's row changes by (lsn, seq),
 * so the writer applies the rows before it, then it, then the rows after it.
 */
export interface DdlChange {
  readonly _tag: "Ddl"
  readonly sid: string
  readonly source: string
  readonly lsn: Lsn
  readonly seq: number
  readonly commitTimeUs: bigint
  readonly event: DdlEvent
  readonly tx?: undefined
}
