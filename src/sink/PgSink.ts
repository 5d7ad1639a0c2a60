/**
 * The Postgres sink: applies a batch in one destination transaction together with the table's new
 * positions. A failed batch is rolled back and classified from its SQLSTATE: transient (connection,
 * deadlock, shutdown …) or permanent (missing column, constraint that can never hold …), which stops
 * the table. Opening a target creates it from the source definition when it is missing and
 * auto-create is on; schema changes the stream announces are followed before the rows that need them.
 * A batch that is one small statement joins the tables' shared round of its turn (SharedRound).
 */
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { connectPrimary } from "../source/SourceHosts.js"
import type { Change } from "../domain/Change.js"
import { describeSourceTable } from "../source/SourceCatalog.js"
import { restoreIndexes } from "../sync/DeferredIndexes.js"
import type { ApplyTarget } from "../apply/ApplyTarget.js"
import { batchWork, runWork, type BatchWork } from "../apply/clone/CloneApply.js"
import type { Single } from "../apply/clone/SingleStatement.js"
import type { DdlChange } from "../domain/DdlEvent.js"
import { applyCapturedDdl } from "../target/DdlApply.js"
import { Destination } from "./Destination.js"
import { applyHistory } from "../apply/history/HistoryApply.js"
import { ensureHistoryPosition } from "../apply/history/HistoryPosition.js"
import { historyTargetOf, type HistoryTarget } from "../apply/history/HistoryTarget.js"
import { loadPositions, positionsSql, savePositions } from "./PositionStore.js"
import { SchemaFollower } from "../target/SchemaFollower.js"
import { Sink, type Extend, type Position, type SinkShape, type SinkTarget, type TargetSpec } from "./Sink.js"
import { describeTargetTable, type TargetTable } from "../target/TargetCatalog.js"
import { ensureTargetTable } from "../target/TargetCreator.js"
import { inTransaction } from "./Transaction.js"
import { failure, onClient, permanent, usingClient } from "./PooledClient.js"
import { defaultRoundOptions, inRound, SharedRound } from "./SharedRound.js"
import { WriteFailed } from "../writers/WriteFailed.js"

export const toApplyTarget = (t: TargetTable): ApplyTarget => ({
  schema: t.schema,
  name: t.name,
  columns: t.columns.filter((c) => !c.isGenerated),
  primaryKey: t.primaryKey.length > 0 ? t.primaryKey : (t.uniqueKeys[0] ?? []),
  hasSid: t.hasSid
})

const sourceTable = (spec: TargetSpec) =>
  Effect.acquireUseRelease(
    Effect.tryPromise(() => connectPrimary(Redacted.value(spec.sources[0]!.url))),
    (client) => describeSourceTable(client, spec.mapping.schema, spec.mapping.name),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

/** the destination table, created from the source when missing (auto-create) */
const provision = (pool: pg.Pool, schema: string, spec: TargetSpec, label: string) =>
  usingClient(pool, label, (client) =>
    Effect.gen(function* () {
      const source = yield* sourceTable(spec).pipe(
        Effect.mapError(
          (e) =>
            new WriteFailed({
              table: label,
              retryable: true,
              sqlstate: undefined,
              column: undefined,
              detail: `cannot read the source definition of ${spec.mapping.schema}.${spec.mapping.name}: ${e.message}`
            })
        )
      )
      if (!source) {
        // a wildcard match dropped on its sources: the target stays, and takes what is replayed from before the DROP
        const kept =
          spec.mapping.wildcard === undefined
            ? undefined
            : yield* describeTargetTable(client, schema, spec.target).pipe(
                Effect.mapError((e) => failure(label, e.cause))
              )
        if (kept === undefined) {
          return yield* permanent(label, `source table ${spec.mapping.schema}.${spec.mapping.name} does not exist`)
        }
        const positions = yield* Effect.tryPromise({
          try: () => loadPositions(client, spec.target),
          catch: (e) => failure(label, e)
        })
        return { table: kept, positions }
      }
      const rebuilt = yield* Effect.tryPromise({
        try: () => restoreIndexes(client, spec.target),
        catch: (e) => {
          const f = failure(label, e)
          return new WriteFailed({
            table: f.table,
            retryable: f.retryable,
            sqlstate: f.sqlstate,
            column: f.column,
            detail: `cannot rebuild the indexes an interrupted initial copy deferred (they stay recorded in walferry.deferred_indexes): ${f.detail}`
          })
        }
      })
      if (rebuilt.length > 0) {
        yield* Effect.logInfo(`rebuilt ${rebuilt.length} index(es) of ${label} an interrupted initial copy deferred`)
      }
      const { created, table } = yield* ensureTargetTable(client, schema, spec.mapping, source, spec.sources.length > 1)
      if (created) yield* Effect.logInfo(`created destination table ${label}`)
      const ready = yield* ensureHistoryPosition(client, table, spec.mapping).pipe(
        Effect.mapError((e) => failure(label, e.cause))
      )
      const positions = yield* Effect.tryPromise({
        try: () => loadPositions(client, spec.target),
        catch: (e) => failure(label, e)
      })
      return { table: ready, positions }
    }).pipe(Effect.catchTag("CreateFailed", (e) => Effect.fail(permanent(label, e.message, "42P01"))))
  )

/** rows a standalone statement writes or deletes */
const rowsOf = (one: Single): number => {
  let n = 0
  for (const c of one.counted) n += c.rows
  return n
}

export const makePgSink = Effect.gen(function* () {
  const { pool, schema, roundRows } = yield* Destination
  const round = new SharedRound(pool, { ...defaultRoundOptions, maxRows: roundRows ?? defaultRoundOptions.maxRows })
  const open = (spec: TargetSpec): Effect.Effect<SinkTarget, WriteFailed> =>
    Effect.gen(function* () {
      const label = `${schema}.${spec.target}`
      const opened = yield* Effect.either(provision(pool, schema, spec, label))
      if (opened._tag === "Left") {
        if (opened.left.retryable) return yield* opened.left
        const problem = opened.left
        return { name: spec.target, problem, positions: new Map(), apply: () => Effect.fail(problem) }
      }
      let table = opened.right.table
      let target = toApplyTarget(table)
      let history: HistoryTarget | undefined
      const problem = (() => {
        if (spec.mapping.mode !== "history") return undefined
        try {
          history = historyTargetOf(target, spec.mapping)
          return undefined
        } catch (e) {
          return permanent(label, e instanceof Error ? e.message : String(e))
        }
      })()
      const follower = new SchemaFollower(schema, spec.mapping.autoCreate, spec.sources)
      const mode = spec.mapping.mode === "append" ? "append" : "clone"
      const write = (
        client: pg.ClientBase,
        batch: ReadonlyArray<Change>,
        next: ReadonlyMap<string, Position>,
        extend?: Extend,
        planned?: BatchWork
      ) =>
        inTransaction(client, async (tx) => {
          if (history) await applyHistory(tx, history, batch)
          else {
            const positions = positionsSql(spec.target, next)
            // a COPY conflict runs the work again: planned anew, with the table's COPY off
            const work = planned ?? batchWork(target, batch, mode, extend, positions)
            planned = undefined
            const stats = await runWork(tx, target, work)
            if (stats.positionsSaved) return
          }
          await savePositions(tx, spec.target, next)
        })
      /** a batch without schema changes: in this turn's shared round when it is one small statement */
      const applyPlain = (batch: ReadonlyArray<Change>, next: ReadonlyMap<string, Position>, extend?: Extend) => {
        if (history) return onClient(pool, label, (client) => write(client, batch, next, extend))
        let work: BatchWork
        try {
          work = batchWork(target, batch, mode, extend, positionsSql(spec.target, next))
        } catch (e) {
          return Effect.fail(failure(label, e))
        }
        if (work._tag === "Single" && round.accepts(rowsOf(work.one)))
          return inRound(round, label, work.one.query, target)
        return onClient(pool, label, (client) => write(client, batch, next, extend, work))
      }
      const apply = (batch: ReadonlyArray<Change>, next: ReadonlyMap<string, Position>, extend?: Extend) => {
        const changed = follower.pending(batch, table)
        if (changed.length === 0) return applyPlain(batch, next, extend)
        return usingClient(pool, label, (client) =>
          Effect.gen(function* () {
            table = yield* follower
              .follow(client, table, changed)
              .pipe(
                Effect.mapError((e) =>
                  e._tag === "QueryFailed" ? failure(label, e.cause) : permanent(label, e.message)
                )
              )
            target = toApplyTarget(table)
            if (history) history = historyTargetOf(target, spec.mapping)
            yield* Effect.tryPromise({ try: () => write(client, batch, next, extend), catch: (e) => failure(label, e) })
          })
        )
      }
      const ddlTarget = { destSchema: schema, target: spec.target, mapping: spec.mapping, sources: spec.sources }
      const applyDdl = (change: DdlChange, next: ReadonlyMap<string, Position>) =>
        usingClient(pool, label, (client) =>
          Effect.gen(function* () {
            table = yield* applyCapturedDdl(client, ddlTarget, change, next)
            target = toApplyTarget(table)
            if (history) {
              const mapping = spec.mapping
              history = yield* Effect.try({
                try: () => historyTargetOf(target, mapping),
                catch: (e) => permanent(label, e instanceof Error ? e.message : String(e))
              })
            }
          })
        )
      return { name: spec.target, problem, positions: opened.right.positions, apply, applyDdl } satisfies SinkTarget
    })
  return { open } satisfies SinkShape
})

export const PgSinkLive = Layer.effect(Sink, makePgSink)
