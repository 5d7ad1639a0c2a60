/**
 * The cluster's storage connection: a node-postgres pool on `cluster.storage_url` (default: the destination
 * database) whose sessions use `cluster.storage_schema` as search_path, so @effect/cluster's tables
 * (`cluster_runners`, `cluster_messages`, `cluster_replies`) and nothing else land in that schema. The schema
 * is created first. Every session is named `walferry runner <address>`, which is how the cluster view tells
 * which runner holds a source's lock.
 */
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import pg from "pg"
import type { ClusterConfig } from "../config/Config.js"
import { connectConfig } from "../lib/ConnectConfig.js"
import { quoteIdent } from "../lib/Sql.js"
import { describeTarget } from "../source/SourceClient.js"
import { resolvePrefer } from "../lib/SslMode.js"

export const runnerAddressOf = (c: ClusterConfig) => `${c.runnerHost}:${c.runnerPort}`
export const RUNNER_APP_PREFIX = "walferry runner "
/** first key of every source lock (SourceLock), "WALF" */
export const SOURCE_LOCK_NAMESPACE = 0x57414c46

const storageError = (c: ClusterConfig, e: unknown) =>
  new SqlError({
    cause: e,
    message: `cluster storage ${describeTarget(Redacted.value(c.storageUrl))}: ${e instanceof Error ? e.message : String(e)}`
  })

/** sessions of the storage pool besides the source locks': @effect/cluster's storages, the cluster view */
const ENGINE_SESSIONS = 10

/**
 * creates the storage schema and opens the pool (closed with the scope). Every source this runner owns holds
 * one session for its hand-over lock (SourceLock) while it runs, so the pool has one per source on top of
 * the engine's: a runner owning many sources must not leave the cluster's own queries without a session.
 */
export const openStoragePool = (c: ClusterConfig, sourceCount: number) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const connectionString = await resolvePrefer(Redacted.value(c.storageUrl))
        const setup = new pg.Client(connectConfig({ connectionString, application_name: "walferry cluster setup" }))
        await setup.connect()
        try {
          await setup.query(`create schema if not exists ${quoteIdent(c.storageSchema)}`)
        } finally {
          await setup.end().catch(() => undefined)
        }
        const pool = new pg.Pool(
          connectConfig({
            connectionString,
            options: `-c search_path=${quoteIdent(c.storageSchema)}`,
            application_name: `${RUNNER_APP_PREFIX}${runnerAddressOf(c)}`.slice(0, 63),
            max: ENGINE_SESSIONS + sourceCount
          })
        )
        pool.on("error", () => undefined)
        return pool
      },
      catch: (e) => storageError(c, e)
    }),
    (pool) => Effect.promise(() => pool.end().catch(() => undefined))
  )

/** SqlClient (and PgClient) on the cluster storage */
export const clusterStorageLayer = (c: ClusterConfig, sourceCount: number) =>
  PgClient.layerFromPool({ acquire: openStoragePool(c, sourceCount) })
