/**
 * The shared destination connection pool: `tuning.writers` connections serve every table writer
 * (a writer holds one only while it applies a batch). Closed, bounded in time, when its scope ends.
 */
import { Context, Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { AppConfig } from "../config/AppConfig.js"
import { ensurePositionStore } from "./PositionStore.js"

export interface DestinationShape {
  readonly pool: pg.Pool
  readonly schema: string
}

export class Destination extends Context.Tag("walferry/Destination")<Destination, DestinationShape>() {}

export const makeDestination = Effect.gen(function* () {
  const config = yield* AppConfig
  const pool = yield* Effect.acquireRelease(
    Effect.sync(
      () =>
        new pg.Pool({
          connectionString: Redacted.value(config.destination.url),
          max: config.tuning.writers,
          application_name: "walferry",
          connectionTimeoutMillis: 10_000,
          idleTimeoutMillis: 30_000
        })
    ),
    (p) =>
      Effect.promise(() => p.end().catch(() => undefined)).pipe(
        Effect.interruptible,
        Effect.timeout("5 seconds"),
        Effect.ignore
      )
  )
  pool.on("error", () => undefined)
  yield* ensurePositionStore(pool)
  return { pool, schema: config.destination.schema } satisfies DestinationShape
})

export const DestinationLive = Layer.scoped(Destination, makeDestination)
