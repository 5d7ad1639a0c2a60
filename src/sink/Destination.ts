/**
 * The shared destination connection pool: `tuning.writers` connections serve every table writer
 * (a writer holds one only while it applies a batch). Closed, bounded in time, when its scope ends. With
 * `destination.origin`, each connection runs under its own replication origin (lib/ReplicationOrigin) before
 * it is handed out; origins of sessions that are gone are dropped here, and a role that may not use
 * replication origins stops the run at start.
 */
import { Context, Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { AppConfig } from "../config/AppConfig.js"
import { closeWithin } from "../lib/closeClient.js"
import { dropStaleOrigins, ORIGIN_PREFIX, setupOrigin } from "../lib/ReplicationOrigin.js"
import { ensurePositionStore } from "./PositionStore.js"
import { WriteFailed } from "../writers/WriteFailed.js"
import { connectConfig } from "../lib/ConnectConfig.js"
import { resolvePrefer } from "../lib/SslMode.js"

export interface DestinationShape {
  readonly pool: pg.Pool
  readonly schema: string
  /** small batches of several tables ready at once share one round trip up to this many rows each (SharedRound; 0: never) */
  readonly roundRows?: number
}

export class Destination extends Context.Tag("walferry/Destination")<Destination, DestinationShape>() {}

/** drops origins of sessions that are gone, and proves a pooled session is under its origin */
const checkOrigins = (pool: pg.Pool, origin: string) =>
  Effect.tryPromise({
    try: async () => {
      const client = await pool.connect()
      try {
        await dropStaleOrigins(client, origin)
        const { rows } = await client.query<{ on: boolean }>("select pg_replication_origin_session_is_setup() as on")
        if (rows[0]?.on !== true) throw new Error("the session has no replication origin")
      } finally {
        client.release()
      }
    },
    catch: (e) =>
      new WriteFailed({
        table: "walferry.positions",
        retryable: false,
        sqlstate: (e as { code?: string }).code,
        column: undefined,
        detail:
          `destination.origin: cannot put destination sessions under replication origin "${ORIGIN_PREFIX}${origin}_<pid>" ` +
          `(needs superuser or EXECUTE on pg_replication_origin_create and pg_replication_origin_session_setup): ${(e as Error).message}`
      })
  })

export const makeDestination = Effect.gen(function* () {
  const config = yield* AppConfig
  const origin = config.destination.origin
  const pool = yield* Effect.acquireRelease(
    Effect.promise(
      async () =>
        new pg.Pool(
          connectConfig({
            connectionString: await resolvePrefer(Redacted.value(config.destination.url)),
            max: config.tuning.writers,
            application_name: "walferry",
            connectionTimeoutMillis: 10_000,
            idleTimeoutMillis: 30_000,
            ...(origin === undefined ? {} : { onConnect: (client: pg.ClientBase) => setupOrigin(client, origin) })
          })
        )
    ),
    (p) => closeWithin(() => p.end(), 5_000)
  )
  pool.on("error", () => undefined)
  yield* ensurePositionStore(pool)
  if (origin !== undefined) yield* checkOrigins(pool, origin)
  return { pool, schema: config.destination.schema, roundRows: config.tuning.batchRoundRows } satisfies DestinationShape
})

export const DestinationLive = Layer.scoped(Destination, makeDestination)
