/**
 * The destination pool as the sink uses it: a batch (or a catalog step) on a checked-out client, which goes
 * back to the pool after a success, is destroyed after a failure, and has its statement cancelled when the
 * caller is interrupted; failures as WriteFailed, classified from their SQLSTATE (transient or permanent).
 */
import { Effect, Exit } from "effect"
import type pg from "pg"
import { cancelStatement } from "../lib/closeClient.js"
import { WriteFailed } from "../writers/WriteFailed.js"
import { applyError, sqlStateOf } from "./SqlState.js"

/** a failed destination step as WriteFailed: transient or permanent from its SQLSTATE, its column named */
export const failure = (table: string, err: unknown) => {
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

export const permanent = (table: string, detail: string, sqlstate?: string) =>
  new WriteFailed({ table, retryable: false, sqlstate, column: undefined, detail: detail.replace(/^walferry: /, "") })

const guarded = new WeakSet<pg.PoolClient>()
const ignore = () => undefined

/** a checked-out client has no error listener of the pool's: a server restart must not crash the process */
export const checkout = async (pool: pg.Pool) => {
  const client = await pool.connect()
  if (!guarded.has(client)) {
    guarded.add(client)
    client.on("error", ignore)
  }
  return client
}

export const usingClient = <A, E>(pool: pg.Pool, table: string, f: (client: pg.PoolClient) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => checkout(pool), catch: (e) => failure(table, e) }),
    f,
    (client, exit) =>
      Effect.sync(() => {
        if (Exit.isInterrupted(exit)) cancelStatement(client)
        client.release(exit._tag === "Failure" ? true : undefined)
      })
  )

/**
 * `work` on a pooled client as one effect (a batch's common path: a runtime step per batch instead of a
 * dozen). The client goes back to the pool after a success and is destroyed after a failure; interrupting
 * cancels the statement in flight (its transaction rolls back: nothing of the batch commits later) and
 * destroys the client, and a checkout still pending then releases its client as soon as it arrives.
 */
export const onClient = <A>(pool: pg.Pool, table: string, work: (client: pg.PoolClient) => Promise<A>) =>
  Effect.async<A, WriteFailed>((resume) => {
    let client: pg.PoolClient | undefined
    let over = false
    const done = (destroy: boolean) => {
      over = true
      const c = client
      client = undefined
      c?.release(destroy ? true : undefined)
    }
    checkout(pool).then(
      (c) => {
        if (over) return c.release()
        client = c
        work(c).then(
          (a) => {
            if (over) return
            done(false)
            resume(Effect.succeed(a))
          },
          (e) => {
            if (over) return
            done(true)
            resume(Effect.fail(failure(table, e)))
          }
        )
      },
      (e) => {
        if (!over) resume(Effect.fail(failure(table, e)))
      }
    )
    return Effect.sync(() => {
      if (client !== undefined) cancelStatement(client)
      done(true)
    })
  })
