/**
 * The result of `walferry check`: findings by severity, each naming the server it concerns (masked URL),
 * the database group and sid, and the mapped table. Only errors stop replication (exit code 1).
 */
export type Severity = "error" | "warning" | "info"

export interface Finding {
  readonly severity: Severity
  /** which server the finding is about */
  readonly side: "source" | "destination"
  /** database group, undefined for destination-wide findings */
  readonly database: string | undefined
  /** sid of the source URL (several joined by ", " when the finding holds for each), undefined if none */
  readonly sid: string | undefined
  /** URL of the server, password masked: postgres://user:***@host:port/db */
  readonly url: string
  /** "schema.table → schema.target" when about a mapped table */
  readonly table: string | undefined
  readonly message: string
}

export interface CheckReport {
  /** where the configuration came from */
  readonly origin: string
  readonly findings: ReadonlyArray<Finding>
}

export interface Issue {
  readonly severity: Severity
  readonly message: string
}

export const error = (message: string): Issue => ({ severity: "error", message })
export const warning = (message: string): Issue => ({ severity: "warning", message })
export const info = (message: string): Issue => ({ severity: "info", message })

export type Subject = Omit<Finding, "severity" | "message" | "table">

export const findingsOf = (subject: Subject, table: string | undefined, issues: ReadonlyArray<Issue>): Array<Finding> =>
  issues.map((i) => ({ ...subject, table, severity: i.severity, message: i.message }))

export const count = (report: CheckReport, severity: Severity): number =>
  report.findings.filter((f) => f.severity === severity).length

/** 0 when nothing would stop replication, 1 when at least one finding is an error */
export const exitCode = (report: CheckReport): 0 | 1 => (count(report, "error") > 0 ? 1 : 0)

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 }

const groupOf = (f: Finding): string =>
  f.database === undefined ? "" : f.sid === undefined || f.sid === "" ? f.database : `${f.database}/${f.sid}`

/** sources are headed by group/sid and URL; destination findings share one heading and name their group per line */
const headerOf = (f: Finding): string =>
  f.side === "source" ? `source ${groupOf(f)} ${f.url}` : `destination ${f.url}`

const lineOf = (f: Finding): string => {
  const where = f.side === "destination" && f.database !== undefined ? ` [${groupOf(f)}]` : ""
  const subject = f.table === undefined ? (where === "" ? "" : `${where.trim()}: `) : `${f.table}${where}: `
  return `  ${f.severity.toUpperCase().padEnd(7)} ${subject}${f.message}`
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/** human-readable report: findings grouped by server, errors first within each group */
export const formatReport = (report: CheckReport): string => {
  const groups = new Map<string, Array<Finding>>()
  for (const f of report.findings) groups.set(headerOf(f), [...(groups.get(headerOf(f)) ?? []), f])
  const lines = [`walferry check (${report.origin})`]
  for (const [header, findings] of groups) {
    lines.push("", header)
    for (const f of [...findings].sort((a, b) => RANK[a.severity] - RANK[b.severity])) {
      lines.push(lineOf(f))
    }
  }
  const errors = count(report, "error")
  lines.push(
    "",
    `${plural(errors, "error")}, ${plural(count(report, "warning"), "warning")}, ${plural(count(report, "info"), "note")}: ` +
      (errors > 0 ? "replication would not start" : "ready to replicate")
  )
  return lines.join("\n")
}
