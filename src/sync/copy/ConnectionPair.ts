/**
 * The source and destination connections one copy worker keeps from chunk to chunk: a new pair of backends
 * per chunk costs both servers a fork, an authentication and cold catalog caches. A chunk that fails drops
 * them (a broken COPY leaves a connection in no known state) and the next chunk opens fresh ones; the scope
 * closes whatever is left.
 */
import { Effect, type Scope } from "effect"
import type pg from "pg"
import { closeClient } from "../../lib/closeClient.js"
import { openClient, type DbConfig } from "../../lib/openClient.js"
import { copyFailure, type CopyFailed } from "../SyncTable.js"

export interface Pair {
  readonly src: pg.Client
  readonly dst: pg.Client
}

export class ConnectionPair {
  private pair: Pair | undefined

  constructor(
    private readonly srcConfig: pg.ClientConfig,
    private readonly dstConfig: DbConfig
  ) {}

  /** the kept pair, or a new one; `label` names the table in errors */
  get(label: string): Effect.Effect<Pair, CopyFailed> {
    if (this.pair) return Effect.succeed(this.pair)
    return Effect.tryPromise({
      try: async () => {
        const src = await openClient(this.srcConfig)
        const dst = await openClient(this.dstConfig).catch(async (e: unknown) => {
          await src.end().catch(() => undefined)
          throw e
        })
        return { src, dst }
      },
      catch: copyFailure(label)
    }).pipe(Effect.tap((pair) => Effect.sync(() => (this.pair = pair))))
  }

  /** closes the pair; the next `get` opens a new one */
  readonly drop: Effect.Effect<void> = Effect.suspend(() => {
    const pair = this.pair
    this.pair = undefined
    if (!pair) return Effect.void
    return Effect.all([closeClient(pair.src), closeClient(pair.dst)], { concurrency: 2, discard: true })
  })
}

/** a pair for the scope */
export const connectionPair = (
  srcConfig: pg.ClientConfig,
  dstConfig: DbConfig
): Effect.Effect<ConnectionPair, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => new ConnectionPair(srcConfig, dstConfig)),
    (pair) => pair.drop
  )
