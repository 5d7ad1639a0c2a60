/**
 * Applies one captured source DDL to its destination table (plan: ddl/DdlPlan) in one destination
 * transaction together with the table's new positions, under the destination-wide DDL lock. The plan is made
 * inside that transaction from the table as it is then, so a replayed DDL changes nothing. User types a new or
 * retyped column needs are created first, from their source definition. Errors are WriteFailed: transient
 * ones (connection, deadlock) are retried by the writer; a DDL that cannot be applied, or a statement the
 * destination refuses (say, a cast it does not have), stops the table with the table, the step and the
 * source statement in the message.
 */
import { Effect, Either, Exit, Redacted } from "effect"
import pg from "pg"
import { connectPrimary } from "../source/SourceHosts.js"
import type { TableMapping } from "../config/Config.js"
import type { DdlChange } from "../domain/DdlEvent.js"
import { planDdl } from "../ddl/DdlPlan.js"
import { closeClient } from "../lib/closeClient.js"
import { query, QueryFailed } from "../lib/Sql.js"
import { describeTypes } from "../source/SourceTypes.js"
import { savePositions } from "../sink/PositionStore.js"
import type { Position, SpecSource } from "../sink/Sink.js"
import { isTransient } from "../sink/SqlState.js"
import { describeTargetTable, type TargetTable } from "./TargetCatalog.js"
import { ensureTypes } from "./TargetCreator.js"
import { retargetTypes } from "./TargetDdl.js"
import { WriteFailed } from "../writers/WriteFailed.js"
import { noteDestinationChange } from "./DestinationChanges.js"

export interface DdlTarget {
  readonly destSchema: string
  readonly target: string
  readonly mapping: TableMapping
  readonly sources: ReadonlyArray<SpecSource>
}

const oneLine = (sql: string) => sql.replace(/\s+/g, " ").trim()

const failed = (label: string, change: DdlChange, detail: string, cause?: unknown) => {
  const retryable = cause !== undefined && isTransient(cause)
  const statement = oneLine(change.event.statement)
  return new WriteFailed({
    table: label,
    retryable,
    sqlstate: (cause as { code?: string } | undefined)?.code,
    column: undefined,
    detail: retryable ? detail : `source DDL not applied: ${detail}; source statement: ${statement}`
  })
}

/** the source definitions of user types `oids` (and what they depend on), read from `source` */
const sourceTypes = (source: SpecSource | undefined, oids: ReadonlyArray<number>) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: async () => {
        if (source === undefined) throw new Error("no source URL")
        return connectPrimary(Redacted.value(source.url))
      },
      catch: (cause) =>
        new QueryFailed({
          message: `cannot connect to ${source?.source ?? "the source"}`,
          code: "08006",
          sql: "connect",
          cause
        })
    }),
    (client) => describeTypes(client, oids),
    (client) => closeClient(client)
  )

/** applies `change` and saves `positions`; returns the destination table as it is afterwards */
export const applyCapturedDdl = (
  client: pg.ClientBase,
  t: DdlTarget,
  change: DdlChange,
  positions: ReadonlyMap<string, Position>
): Effect.Effect<TargetTable, WriteFailed> => {
  const label = `${t.destSchema}.${t.target}`
  const run = (sql: string, what: string) =>
    query(client, sql).pipe(Effect.mapError((e) => failed(label, change, `${what}: ${e.message}`, e.cause)))
  const body = Effect.gen(function* () {
    yield* run("begin", "begin")
    yield* run("select pg_advisory_xact_lock(hashtext('walferry.ddl'))", "DDL lock")
    const current = yield* describeTargetTable(client, t.destSchema, t.target).pipe(
      Effect.mapError((e) => failed(label, change, e.message, e.cause))
    )
    if (current === undefined) return yield* failed(label, change, "the destination table does not exist")
    const plan = planDdl(change.event, current, {
      mode: t.mapping.mode,
      history: t.mapping.history,
      multiSource: t.sources.length > 1,
      autoCreate: t.mapping.autoCreate
    })
    if (Either.isLeft(plan)) return yield* failed(label, change, plan.left)
    if (plan.right.userTypes.length > 0) {
      const source = t.sources.find((s) => s.source === change.source)
      const types = yield* sourceTypes(source, plan.right.userTypes).pipe(
        Effect.mapError((e) => failed(label, change, `reading source types: ${e.message}`, e.cause))
      )
      yield* ensureTypes(client, t.destSchema, label, types, retargetTypes(types, t.destSchema)).pipe(
        Effect.mapError((e) =>
          e._tag === "CreateFailed" ? failed(label, change, e.message) : failed(label, change, e.message, e.cause)
        )
      )
    }
    for (const step of plan.right.steps) yield* run(step.sql, step.what)
    yield* Effect.tryPromise({
      try: () => savePositions(client, t.target, positions),
      catch: (e) => failed(label, change, `saving positions: ${String(e)}`, e)
    })
    yield* run("commit", "commit")
    if (plan.right.steps.length > 0) noteDestinationChange()
    for (const step of plan.right.steps) yield* Effect.logInfo(`source DDL applied: ${step.what}`)
    const after = yield* describeTargetTable(client, t.destSchema, t.target).pipe(
      Effect.mapError((e) => failed(label, change, e.message, e.cause))
    )
    return after ?? current
  })
  return body.pipe(
    Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(query(client, "rollback")))),
    Effect.annotateLogs({ table: label })
  )
}
