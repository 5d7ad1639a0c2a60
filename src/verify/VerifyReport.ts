/**
 * What `walferry verify` found, per mapped (source URL, table) and overall, and its text rendering. A table
 * is `equal` only when nothing counts against it: missing, extra and different rows for clone and history
 * (open versions), missing and different rows for append (extra rows are expected there and only counted).
 * Key lists are capped (`keys`); the counts are always complete.
 */
import type { TableMode } from "../config/Config.js"

/** a row's key, column → text form; a keyless table's rows are named by `{ row: "(…)" }` */
export type KeyText = Readonly<Record<string, string | null>>

export type Verdict = "equal" | "different" | "error"

export interface DifferenceKeys {
  readonly missing: ReadonlyArray<KeyText>
  readonly extra: ReadonlyArray<KeyText>
  readonly different: ReadonlyArray<KeyText>
}

export interface TableReport {
  /** source `schema.table` */
  readonly table: string
  /** destination table */
  readonly target: string
  /** the engine's key of the source URL, `database/sid` */
  readonly source: string
  /** the sid slice compared on a shared target, undefined when the target has no sid column */
  readonly sid: string | undefined
  readonly mode: TableMode
  /** false: no primary key or replica identity index, whole-row hash multisets were compared */
  readonly keyed: boolean
  /** columns compared (mapped on both sides) */
  readonly columns: ReadonlyArray<string>
  readonly sourceRows: number
  /** destination rows compared (history: open versions; shared target: this sid's rows) */
  readonly destinationRows: number
  readonly ranges: number
  readonly differingRanges: number
  readonly missing: number
  readonly extra: number
  readonly different: number
  /** append: destination rows the source no longer has (allowed) */
  readonly extraAllowed: number
  readonly keys: DifferenceKeys
  /** comparison rounds (1 + re-checks of differing ranges while they settled) */
  readonly rounds: number
  readonly millis: number
  readonly verdict: Verdict
  readonly error?: string
  /** set when --repair re-copied ranges of this table before this (second) comparison */
  readonly repaired?: RepairSummary
}

export interface RepairSummary {
  readonly ranges: number
  readonly rows: number
  /** why the table could not be repaired, if it could not */
  readonly skipped?: string
}

export interface CatchUp {
  readonly source: string
  /** the source's WAL position when verify started */
  readonly lsn: string
  /** "reached": the slot confirmed it; "inactive": no running walferry streams it; "timeout" */
  readonly state: "reached" | "inactive" | "timeout" | "no-slot"
  readonly millis: number
}

export interface VerifyReport {
  readonly verdict: "equal" | "different"
  readonly tables: ReadonlyArray<TableReport>
  readonly catchUp: ReadonlyArray<CatchUp>
  readonly repaired: boolean
  readonly millis: number
}

export const verdictOf = (t: Omit<TableReport, "verdict">): Verdict =>
  t.error !== undefined ? "error" : t.missing + t.extra + t.different === 0 ? "equal" : "different"

export const reportVerdict = (tables: ReadonlyArray<TableReport>): VerifyReport["verdict"] =>
  tables.every((t) => t.verdict === "equal") ? "equal" : "different"

/** 0 only when every table is equal, else 1 */
export const verifyExitCode = (report: VerifyReport): number => (report.verdict === "equal" ? 0 : 1)

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`

const keyText = (k: KeyText) =>
  Object.entries(k)
    .map(([c, v]) => `${c}=${v === null ? "NULL" : v}`)
    .join(", ")

const modeText = (t: TableReport) =>
  [
    t.mode === "history" ? "history, open versions" : t.mode === "append" ? "append, superset" : "clone",
    ...(t.sid !== undefined ? [`sid ${JSON.stringify(t.sid)}`] : []),
    ...(t.keyed ? [] : ["no key: whole-row hash multisets"])
  ].join(", ")

const tableLines = (t: TableReport): Array<string> => {
  const head = `  ${t.table} → ${t.target} [${t.source}; ${modeText(t)}]`
  if (t.error !== undefined) return [head, `      ERROR: ${t.error}`]
  const counts =
    `rows ${t.sourceRows} source / ${t.destinationRows} destination, ranges ${t.ranges}` +
    (t.differingRanges > 0 ? ` (${t.differingRanges} differing)` : "") +
    (t.rounds > 1 ? `, ${t.rounds} rounds` : "") +
    (t.extraAllowed > 0 ? `, ${t.extraAllowed} extra (append keeps them)` : "")
  const verdict =
    t.verdict === "equal" ? "equal" : `DIFFERENT: ${t.missing} missing, ${t.extra} extra, ${t.different} different`
  const lines = [head, `      ${counts}; ${verdict}; ${seconds(t.millis)}`]
  if (t.repaired !== undefined) {
    lines.push(
      t.repaired.skipped !== undefined
        ? `      not repaired: ${t.repaired.skipped}`
        : `      repaired first: ${t.repaired.ranges} range(s), ${t.repaired.rows} row(s) copied again`
    )
  }
  const list = (kind: string, keys: ReadonlyArray<KeyText>, total: number) => {
    for (const k of keys) lines.push(`      ${kind.padEnd(9)} ${keyText(k)}`)
    if (total > keys.length) lines.push(`      ${kind.padEnd(9)} … and ${total - keys.length} more`)
  }
  list("missing", t.keys.missing, t.missing)
  list("extra", t.keys.extra, t.extra)
  list("different", t.keys.different, t.different)
  return lines
}

/** the console form of a report */
export const renderReport = (report: VerifyReport): string => {
  const equal = report.tables.filter((t) => t.verdict === "equal").length
  const lines = [
    `walferry verify: ${report.tables.length} table(s), ${equal} equal, ${report.tables.length - equal} not equal` +
      `${report.repaired ? " (after repair)" : ""}; ${seconds(report.millis)}`
  ]
  for (const c of report.catchUp) {
    const state =
      c.state === "reached"
        ? "destination confirmed it"
        : c.state === "timeout"
          ? "destination had not confirmed it; differing ranges were re-checked"
          : c.state === "inactive"
            ? "slot not streaming"
            : "no slot"
    lines.push(`  source ${c.source}: WAL position ${c.lsn} at start, ${state} (${seconds(c.millis)})`)
  }
  for (const t of report.tables) lines.push(...tableLines(t))
  lines.push(report.verdict === "equal" ? "EQUAL" : "NOT EQUAL")
  return lines.join("\n")
}
