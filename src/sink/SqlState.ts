/**
 * Classifies destination errors as transient (retry the batch: connection loss, serialization failure,
 * deadlock, lock timeout, resource exhaustion, shutdown) or permanent (schema or data problems that a retry
 * cannot fix), and renders node-postgres error fields into one clear line:
 * `walferry: table public.t1: column "x": 42703 undefined_column: column "x" of relation "t1" does not exist`.
 */
export type ErrorClass = "transient" | "permanent"

const CONDITIONS: Readonly<Record<string, string>> = {
  "08000": "connection_exception",
  "08003": "connection_does_not_exist",
  "08006": "connection_failure",
  "08001": "sqlclient_unable_to_establish_sqlconnection",
  "08004": "sqlserver_rejected_establishment_of_sqlconnection",
  "08P01": "protocol_violation",
  "22001": "string_data_right_truncation",
  "22003": "numeric_value_out_of_range",
  "22007": "invalid_datetime_format",
  "22008": "datetime_field_overflow",
  "22012": "division_by_zero",
  "22021": "character_not_in_repertoire",
  "22026": "string_data_length_mismatch",
  "22P02": "invalid_text_representation",
  "22P05": "untranslatable_character",
  "23502": "not_null_violation",
  "23503": "foreign_key_violation",
  "23505": "unique_violation",
  "23514": "check_violation",
  "23P01": "exclusion_violation",
  "25P02": "in_failed_sql_transaction",
  "40001": "serialization_failure",
  "40003": "statement_completion_unknown",
  "40P01": "deadlock_detected",
  "42501": "insufficient_privilege",
  "42601": "syntax_error",
  "42703": "undefined_column",
  "42704": "undefined_object",
  "42804": "datatype_mismatch",
  "42830": "invalid_foreign_key",
  "42883": "undefined_function",
  "42P01": "undefined_table",
  "42P10": "invalid_column_reference",
  "42846": "cannot_coerce",
  "53100": "disk_full",
  "53200": "out_of_memory",
  "53300": "too_many_connections",
  "55000": "object_not_in_prerequisite_state",
  "55P03": "lock_not_available",
  "57014": "query_canceled",
  "57P01": "admin_shutdown",
  "57P02": "crash_shutdown",
  "57P03": "cannot_connect_now",
  "57P04": "database_dropped",
  "58000": "system_error",
  "58030": "io_error",
  XX000: "internal_error"
}

const CLASSES: Readonly<Record<string, string>> = {
  "08": "connection_exception",
  "22": "data_exception",
  "23": "integrity_constraint_violation",
  "40": "transaction_rollback",
  "42": "syntax_error_or_access_rule_violation",
  "53": "insufficient_resources",
  "54": "program_limit_exceeded",
  "55": "object_not_in_prerequisite_state",
  "57": "operator_intervention",
  "58": "system_error",
  XX: "internal_error"
}

const TRANSIENT_STATES = new Set([
  "40001",
  "40P01",
  "40003",
  "55P03",
  "57014",
  "57P01",
  "57P02",
  "57P03",
  "58000",
  "58030"
])
const TRANSIENT_CLASSES = new Set(["08", "53"])
const TRANSIENT_NODE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN"
])
const TRANSIENT_MESSAGE =
  /connection terminated|connection (was )?closed|not queryable|timeout exceeded when trying to connect/i

interface PgFields {
  readonly code?: unknown
  readonly message?: unknown
  readonly schema?: unknown
  readonly table?: unknown
  readonly column?: unknown
  readonly constraint?: unknown
  readonly dataType?: unknown
  readonly cause?: unknown
  readonly transient?: unknown
}

const fields = (err: unknown): PgFields => (typeof err === "object" && err !== null ? (err as PgFields) : {})
const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined)

/** the SQLSTATE of a server error, undefined for anything else */
export const sqlStateOf = (err: unknown): string | undefined => {
  const code = str(fields(err).code)
  return code !== undefined && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code) ? code : undefined
}

export const conditionName = (sqlState: string): string =>
  CONDITIONS[sqlState] ?? CLASSES[sqlState.slice(0, 2)] ?? "unknown_condition"

export const classify = (err: unknown): ErrorClass => {
  const f = fields(err)
  if (typeof f.transient === "boolean") return f.transient ? "transient" : "permanent"
  const state = sqlStateOf(err)
  if (state !== undefined) {
    return TRANSIENT_STATES.has(state) || TRANSIENT_CLASSES.has(state.slice(0, 2)) ? "transient" : "permanent"
  }
  const code = str(f.code)
  if (code !== undefined && TRANSIENT_NODE_CODES.has(code)) return "transient"
  if (TRANSIENT_MESSAGE.test(str(f.message) ?? "")) return "transient"
  if (f.cause !== undefined && f.cause !== err) return classify(f.cause)
  return "permanent"
}

export const isTransient = (err: unknown): boolean => classify(err) === "transient"

/** one line naming the table, column, constraint and condition of the error */
export const describe = (err: unknown, table?: { readonly schema: string; readonly name: string }): string => {
  const f = fields(err)
  const message = str(f.message) ?? String(err)
  if (message.startsWith("walferry: ")) return message
  const parts = ["walferry"]
  const errTable = str(f.table) && (str(f.schema) ? `${f.schema}.${f.table}` : String(f.table))
  if (table) parts.push(`table ${table.schema}.${table.name}`)
  if (errTable && (!table || (errTable !== `${table.schema}.${table.name}` && errTable !== table.name))) {
    parts.push(`relation ${errTable}`)
  }
  const column = str(f.column) ?? /column "((?:[^"]|"")+)"/.exec(message)?.[1]
  if (column) parts.push(`column "${column}"`)
  if (str(f.constraint)) parts.push(`constraint "${f.constraint}"`)
  if (str(f.dataType)) parts.push(`type ${f.dataType}`)
  const state = sqlStateOf(err)
  parts.push(state ? `${state} ${conditionName(state)}: ${message}` : `${str(f.code) ? `${f.code}: ` : ""}${message}`)
  return parts.join(": ")
}

/** a destination error with its classification, for the writer's retry or stop decision */
export class ApplyError extends Error {
  override readonly name = "ApplyError"
  constructor(
    message: string,
    readonly transient: boolean,
    readonly sqlState: string | undefined,
    options: { readonly cause: unknown }
  ) {
    super(message, options)
  }
}

export const applyError = (err: unknown, table?: { readonly schema: string; readonly name: string }): ApplyError =>
  err instanceof ApplyError
    ? err
    : new ApplyError(describe(err, table), isTransient(err), sqlStateOf(err), { cause: err })
