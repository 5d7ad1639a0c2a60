/**
 * Turns a row of the source's `walferry.ddl_events` (an Insert in the stream) into a DdlChange for the writer
 * of the table it touched. Only rows of unrouted relations reach here (the dispatcher asks after routing
 * failed), so with capture off nothing on the row path changes. An event of a table no mapping covers is
 * not applied (the trigger records every table of the database, walferry applies only what it maps); the
 * reader is told of it, so a CREATE TABLE matching a wildcard key gets the table mapped (WildcardWatch).
 */
import type { Tuple } from "../domain/Change.js"
import type { DdlChange, DdlColumn, DdlEvent } from "../domain/DdlEvent.js"
import type { Lsn } from "../domain/Lsn.js"
import type { Relation } from "../domain/Relation.js"
import type { Router } from "../route/Router.js"
import type { TableWriter } from "../writers/TableWriter.js"
import { CAPTURE_SCHEMA, EVENTS_TABLE } from "./CaptureSql.js"

export const isEventsRelation = (r: Relation): boolean => r.name === EVENTS_TABLE && r.schema === CAPTURE_SCHEMA

interface RawColumn {
  readonly n: number
  readonly name: string
  readonly type: string
  readonly oid: number
  readonly mod: number
}

const columns = (text: string | null | undefined): ReadonlyArray<DdlColumn> | null =>
  text == null
    ? null
    : (JSON.parse(text) as ReadonlyArray<RawColumn>).map((c) => ({
        attnum: c.n,
        name: c.name,
        type: c.type,
        typeOid: c.oid,
        typeMod: c.mod
      }))

/** the event in a `ddl_events` row, undefined when the row is not one (a newer or older layout) */
export const decodeEvent = (relation: Relation, row: Tuple): DdlEvent | undefined => {
  const at = (name: string) => {
    const i = relation.columns.findIndex((c) => c.name === name)
    return i < 0 ? undefined : row[i]
  }
  const command = at("command")
  const schema = at("schema_name")
  const name = at("table_name")
  if (typeof command !== "string" || typeof schema !== "string" || typeof name !== "string") return undefined
  try {
    return {
      command,
      schema,
      name,
      newSchema: at("new_schema") ?? schema,
      newName: at("new_name") ?? name,
      statement: at("statement") ?? "",
      before: columns(at("before")),
      after: columns(at("after"))
    }
  } catch {
    return undefined
  }
}

export interface RoutedDdl {
  readonly writer: TableWriter
  readonly change: DdlChange
}

export interface DdlTx {
  readonly sid: string
  readonly source: string
  readonly lsn: Lsn
  readonly seq: number
  readonly commitTimeUs: bigint
}

/**
 * the writer and ordered change for an events row; `unmapped` (a CREATE TABLE a wildcard key may match) when it
 * concerns no mapped table; undefined when the row is no event
 */
export const routeDdl = (
  router: Router,
  relation: Relation,
  row: Tuple,
  tx: DdlTx
): RoutedDdl | { readonly unmapped: DdlEvent } | undefined => {
  const event = decodeEvent(relation, row)
  if (event === undefined) return undefined
  const writer = router.writerOf(event.schema, event.name)
  if (writer === null) return { unmapped: event }
  return { writer, change: { _tag: "Ddl", ...tx, event } }
}
