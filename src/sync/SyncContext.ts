/**
 * What every initial-sync step of one source URL shares: where the source and the destination are, the
 * tuning, the throttle and the writers; and the scoped connections the steps open (one source and one
 * destination connection per chunk in flight, closed when their scope ends, even on interruption, so a
 * half-done COPY is rolled back by the server).
 */
import { Effect, Exit, Redacted, type Scope } from "effect"
import type pg from "pg"
import type { SourceGroup, SourceUrl, TableMapping, WalferryConfig } from "../config/Config.js"
import type { WritersShape } from "../writers/Writers.js"
import { copyFailure, type CopyFailed } from "./SyncTable.js"
import type { Throttle } from "./SyncThrottle.js"
import { closeClient } from "../lib/closeClient.js"
import { openClient, type DbConfig } from "../lib/openClient.js"

export interface SyncContext {
  readonly group: SourceGroup
  readonly url: SourceUrl
  /** the engine's key of this source (`database/sid`) */
  readonly source: string
  readonly publication: string
  readonly destSchema: string
  /** the destination writes under a replication origin: one side of a two-way pair (see existingRowsOf) */
  readonly twoWay: boolean
  readonly srcConfig: pg.ClientConfig
  readonly dstConfig: DbConfig
  readonly chunkRows: number
  readonly parallelism: number
  readonly throttle: Throttle
  readonly writers: WritersShape
}

/** the destination connection of the sync steps */
export const destinationConfig = (config: WalferryConfig): DbConfig => ({
  connectionString: Redacted.value(config.destination.url),
  application_name: "walferry_sync",
  ...(config.destination.origin === undefined ? {} : { replicationOrigin: config.destination.origin })
})

export const makeContext = (
  config: WalferryConfig,
  group: SourceGroup,
  url: SourceUrl,
  source: string,
  publication: string,
  throttle: Throttle,
  writers: WritersShape
): SyncContext => ({
  group,
  url,
  source,
  publication,
  destSchema: config.destination.schema,
  twoWay: config.destination.origin !== undefined,
  srcConfig: { connectionString: Redacted.value(url.url), application_name: `walferry_${group.database}_sync` },
  dstConfig: destinationConfig(config),
  chunkRows: config.tuning.syncChunkRows,
  parallelism: config.tuning.syncParallelism,
  throttle,
  writers
})

/** a connection for the scope; `label` names the table in errors */
export const connectFor = (config: DbConfig, label: string): Effect.Effect<pg.Client, CopyFailed, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => openClient(config),
      catch: copyFailure(label)
    }),
    (client) => closeClient(client)
  )

const ignoreError = () => undefined

/** a connection of `pool` for this scope; one that failed a step is discarded, not returned to the pool */
export const pooledClient = (pool: pg.Pool, label: string): Effect.Effect<pg.PoolClient, CopyFailed, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = await pool.connect()
        // checked out, it has no error listener of the pool's: a server restart must not crash the process
        client.on("error", ignoreError)
        return client
      },
      catch: copyFailure(label)
    }),
    (client, exit) =>
      Effect.sync(() => {
        client.off("error", ignoreError)
        client.release(Exit.isSuccess(exit) ? undefined : true)
      })
  )

/** a promise step of the copy of `label`, its failure typed */
export const step = <A>(label: string, f: () => Promise<A>): Effect.Effect<A, CopyFailed> =>
  Effect.tryPromise({ try: f, catch: copyFailure(label) })

export const labelOf = (m: TableMapping) => `${m.schema}.${m.name}`

/** one mapping per target (a target fed by two tables of one group is copied from the first) */
export const byTarget = (tables: ReadonlyArray<TableMapping>): ReadonlyArray<TableMapping> => {
  const seen = new Map<string, TableMapping>()
  for (const t of tables) if (!seen.has(t.target)) seen.set(t.target, t)
  return [...seen.values()]
}
