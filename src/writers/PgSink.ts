/**
 * The Postgres sink: applies a batch in one destination transaction together with the table's new
 * positions. A failed batch is rolled back and classified from its SQLSTATE: transient (connection,
 * deadlock, shutdown …) or permanent (missing column, constraint that can never hold …).
 */
import { Effect, Layer } from "effect"
import type pg from "pg"
import type { Change } from "../domain/Change.js"
import type { ApplyTarget } from "./ApplyTarget.js"
import { applyBatch, type ApplyMode } from "./CloneApply.js"
import { Destination } from "./Destination.js"
import { loadPositions, savePositions } from "./PositionStore.js"
import { Sink, type Position, type SinkShape, type SinkTarget, type TargetSpec } from "./Sink.js"
import { applyError, sqlStateOf } from "./SqlState.js"
import { describeTargetTable, type TargetTable } from "./TargetCatalog.js"
import { WriteFailed } from "./WriteFailed.js"

const toApplyTarget = (t: TargetTable): ApplyTarget => ({
  schema: t.schema,
  name: t.name,
  columns: t.columns.filter((c) => !c.isGenerated),
  primaryKey: t.primaryKey.length > 0 ? t.primaryKey : (t.uniqueKeys[0] ?? []),
  hasSid: t.hasSid
})

const failure = (table: string, err: unknown) => {
  const e = applyError(err)
  const column = /column "((?:[^"]|"")+)"/.exec(e.message)?.[1]
  return new WriteFailed({
    table,
    retryable: e.transient,
    sqlstate: e.sqlState ?? sqlStateOf(err),
    column: (err as { column?: string }).column ?? column,
    detail: e.message.replace(/^walferry: /, "")
  })
}

const withClient = <A>(pool: pg.Pool, table: string, f: (client: pg.PoolClient) => Promise<A>) =>
  Effect.tryPromise({
    try: async () => {
      const client = await pool.connect()
      try {
        const result = await f(client)
        client.release()
        return result
      } catch (e) {
        client.release(e instanceof Error ? e : new Error(String(e)))
        throw e
      }
    },
    catch: (e) => failure(table, e)
  })

const modeOf = (spec: TargetSpec): ApplyMode => (spec.mapping.mode === "append" ? "append" : "clone")

export const makePgSink = Effect.gen(function* () {
  const { pool, schema } = yield* Destination
  const open = (spec: TargetSpec): Effect.Effect<SinkTarget, WriteFailed> =>
    Effect.gen(function* () {
      const label = `${schema}.${spec.target}`
      const { table, positions } = yield* withClient(pool, label, async (client) => ({
        table: await Effect.runPromise(describeTargetTable(client, schema, spec.target)),
        positions: await loadPositions(client, spec.target)
      }))
      const problem =
        table === undefined
          ? new WriteFailed({
              table: label,
              retryable: false,
              sqlstate: "42P01",
              column: undefined,
              detail: `destination table ${label} does not exist (create it, or enable auto_create)`
            })
          : spec.mapping.mode === "history"
            ? new WriteFailed({
                table: label,
                retryable: false,
                sqlstate: undefined,
                column: undefined,
                detail: "history mode is not supported yet"
              })
            : undefined
      const target = table ? toApplyTarget(table) : undefined
      const mode = modeOf(spec)
      const apply = (batch: ReadonlyArray<Change>, next: ReadonlyMap<string, Position>) =>
        target === undefined
          ? Effect.fail(problem!)
          : withClient(pool, label, async (client) => {
              await client.query("begin")
              try {
                await applyBatch(client, target, batch, mode)
                await savePositions(client, spec.target, next)
                await client.query("commit")
              } catch (e) {
                await client.query("rollback").catch(() => undefined)
                throw e
              }
            })
      return { name: spec.target, problem, positions, apply } satisfies SinkTarget
    })
  return { open } satisfies SinkShape
})

export const PgSinkLive = Layer.effect(Sink, makePgSink)
