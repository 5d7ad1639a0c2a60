/**
 * Installs, updates or removes DDL capture on one source database (CaptureSql), in one transaction, before
 * the publication is prepared: with capture on, `walferry.ddl_events` joins the publication (see
 * `captureTables`), so its rows reach the stream in order with the mapped tables' rows. Creating event
 * triggers needs a superuser; a role without it gets DdlCaptureFailed saying so, unless the capture of this
 * walferry version is already installed (by a superuser): then install is skipped.
 */
import { Data, Effect, Exit } from "effect"
import type pg from "pg"
import type { DdlMode, TableMapping } from "../config/Config.js"
import { DEFAULT_HISTORY_COLUMNS } from "../config/KuvaszMap.js"
import { query } from "../lib/Sql.js"
import { describeCause, type SourceRef } from "../source/SourceErrors.js"
import { CAPTURE_SCHEMA, CAPTURE_VERSION, EVENTS_TABLE, INSTALL_SQL, INSTALLED_SQL, REMOVE_SQL } from "./CaptureSql.js"

export class DdlCaptureFailed extends Data.TaggedError("DdlCaptureFailed")<{
  readonly database: string
  readonly sid: string
  readonly action: "install" | "remove"
  readonly reason: string
}> {
  override get message() {
    const who = this.sid === "" ? this.database : `${this.database}/${this.sid}`
    return `source ${who}: cannot ${this.action} DDL capture (ddl: ${this.action === "install" ? "capture" : "remove"}): ${this.reason}`
  }
}

const INSUFFICIENT_PRIVILEGE = "42501"

/** capture is installed at this walferry's version (then a role that is not superuser may stream with it) */
export const captureInstalled = (client: pg.ClientBase): Effect.Effect<boolean> =>
  query<{ version: string | null; triggers: number }>(client, INSTALLED_SQL).pipe(
    Effect.map(([row]) => row?.version === CAPTURE_VERSION && row.triggers === 2),
    Effect.orElseSucceed(() => false)
  )

/** applies `mode` to the source: capture installs or updates, remove uninstalls, off leaves it alone */
export const applyCaptureMode = (
  client: pg.Client,
  mode: DdlMode,
  ref: SourceRef
): Effect.Effect<void, DdlCaptureFailed> => {
  if (mode === "off") return Effect.void
  const action = mode === "capture" ? "install" : "remove"
  const statements = mode === "capture" ? INSTALL_SQL : REMOVE_SQL
  const run = (sql: string) =>
    query(client, sql).pipe(
      Effect.mapError(
        (e) =>
          new DdlCaptureFailed({
            ...ref,
            action,
            reason:
              e.code === INSUFFICIENT_PRIVILEGE
                ? `${describeCause(e.cause)}; event triggers can only be created by a superuser`
                : describeCause(e.cause)
          })
      )
    )
  return Effect.gen(function* () {
    if (mode === "capture" && (yield* captureInstalled(client))) return
    yield* run("begin")
    for (const sql of statements) yield* run(sql)
    yield* run("commit")
    yield* Effect.logInfo(mode === "capture" ? "DDL capture installed" : "DDL capture removed")
  }).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(run("rollback")))))
}

/** the events table, as a mapping only the publication sees (no writer, no copy) */
export const EVENTS_MAPPING: TableMapping = {
  schema: CAPTURE_SCHEMA,
  name: EVENTS_TABLE,
  mode: "append",
  target: `${CAPTURE_SCHEMA}.${EVENTS_TABLE}`,
  partitionsRegex: undefined,
  autoCreate: false,
  history: DEFAULT_HISTORY_COLUMNS
}

/** the tables to publish for a group: its mapped tables, plus the events table when capture is on */
export const captureTables = (tables: ReadonlyArray<TableMapping>, mode: DdlMode | undefined) =>
  mode === "capture" ? [...tables, EVENTS_MAPPING] : tables
