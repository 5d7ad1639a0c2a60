/** A real API server on a free port, with a test EngineControl and in-memory engine state. */
import * as HttpServer from "@effect/platform/HttpServer"
import { Effect, Layer, ManagedRuntime, Redacted, Ref } from "effect"
import { Acknowledger, makeAcknowledger } from "../../../src/ack/Acknowledger.js"
import { appConfigLayer } from "../../../src/config/AppConfig.js"
import type { WalferryConfig } from "../../../src/config/Config.js"
import { ApiServe, apiServer } from "../../../src/http/Api.js"
import { ControlRejected, EngineControl } from "../../../src/pipeline/EngineControl.js"
import { EngineStatus, EngineStatusLive } from "../../../src/pipeline/EngineStatus.js"
import { LiveMappingLive } from "../../../src/pipeline/LiveMapping.js"
import type { WriterStatus } from "../../../src/writers/TableWriter.js"
import { Writers } from "../../../src/writers/Writers.js"
import { Series, SeriesLive } from "../../../src/telemetry/Series.js"
import { walferryConfig } from "../../support/configFixture.js"

export const PASSWORD = "s3cretPass"
export const TOKEN = "test-token-123"

export const testConfig = (token: string | undefined = TOKEN): WalferryConfig => {
  const base = walferryConfig({
    destination: `postgres://dest:${PASSWORD}@dest.example:5432/dst`,
    sources: [
      {
        database: "billing",
        urls: [
          { url: `postgres://repl:${PASSWORD}@src1.example:5432/app?sslmode=require`, sid: "1" },
          { url: `postgres://repl:${PASSWORD}@src2.example/app`, sid: "2" }
        ],
        tables: ["public.accounts", { name: "invoices", target: "invoices_all", mode: "append" }]
      }
    ]
  })
  return {
    ...base,
    api: {
      enabled: true,
      host: "127.0.0.1",
      port: 0,
      token: token === undefined ? undefined : Redacted.make(token),
      seriesIntervalMs: 1000,
      seriesWindowMinutes: 30
    }
  }
}

export const writerStatus = (target: string, patch: Partial<WriterStatus> = {}): WriterStatus => ({
  target,
  state: "streaming",
  error: undefined,
  rowsApplied: 0,
  batches: 0,
  lastLsn: 0n,
  mailboxDepth: 0,
  ...patch
})

/** EngineControl for tests: records every call; `resync("invoices_all")` is refused */
export const makeTestControl = Effect.gen(function* () {
  const paused = yield* Ref.make(false)
  const calls: Array<string> = []
  const control = EngineControl.of({
    pause: Effect.sync(() => calls.push("pause")).pipe(Effect.zipRight(Ref.set(paused, true))),
    resume: Effect.sync(() => calls.push("resume")).pipe(Effect.zipRight(Ref.set(paused, false))),
    paused: Ref.get(paused),
    drainStop: Effect.sync(() => void calls.push("drainStop")),
    resync: (target) =>
      target === "invoices_all"
        ? Effect.fail(new ControlRejected("a sync of invoices_all is already running"))
        : Effect.sync(() => void calls.push(`resync:${target}`))
  })
  return { control, calls }
})

export interface Harness {
  readonly url: string
  readonly calls: Array<string>
  /** the writer statuses `Writers.statuses` answers */
  writers: Array<WriterStatus>
  readonly run: <A>(effect: Effect.Effect<A, never, EngineStatus | Acknowledger | Series>) => Promise<A>
  readonly dispose: () => Promise<void>
}

export const startApi = async (config: WalferryConfig = testConfig()): Promise<Harness> => {
  const { control, calls } = await Effect.runPromise(makeTestControl)
  const harness = { writers: [] as Array<WriterStatus> }
  const writers = Layer.succeed(Writers, {
    byTarget: new Map(),
    failure: Effect.never,
    hasFailed: Effect.succeed(false),
    drained: Effect.void,
    statuses: Effect.sync(() => harness.writers)
  })
  const deps = LiveMappingLive.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        appConfigLayer(config),
        EngineStatusLive,
        writers,
        Layer.scoped(Acknowledger, makeAcknowledger(60_000)),
        Layer.succeed(EngineControl, control)
      )
    )
  )
  const layer = ApiServe.pipe(
    Layer.provideMerge(apiServer(config.api)),
    Layer.provideMerge(SeriesLive),
    Layer.provideMerge(deps)
  )
  const runtime = ManagedRuntime.make(layer)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (s) => s.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return Object.assign(harness, {
    url: `http://127.0.0.1:${address.port}`,
    calls,
    run: <A>(effect: Effect.Effect<A, never, EngineStatus | Acknowledger | Series>) => runtime.runPromise(effect),
    dispose: () => runtime.dispose()
  })
}

export interface Reply {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
  readonly body: any
}

/** every body received, to check that no password was ever sent */
export const bodies: Array<string> = []

export const call = async (url: string, init: RequestInit = {}): Promise<Reply> => {
  const res = await fetch(url, init)
  const text = await res.text()
  bodies.push(text)
  let body: unknown = undefined
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON (metrics)
  }
  return { status: res.status, contentType: res.headers.get("content-type"), text, body }
}

export const bearer = (token: string): RequestInit => ({
  method: "POST",
  headers: { authorization: `Bearer ${token}` }
})
