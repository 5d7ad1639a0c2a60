/** walferry as an in-process service (engine + HTTP API on a free port) for API tests; `stop` interrupts it gracefully. */
import { Effect, Fiber, Layer, Logger, LogLevel, Redacted } from "effect"
import { appConfigLayer } from "../../../src/config/AppConfig.js"
import type { SourceGroup, WalferryConfig } from "../../../src/config/Config.js"
import { runService, ServiceBaseLive } from "../../../src/pipeline/Service.js"
import { walferryConfig } from "../../support/configFixture.js"
import { freePort } from "../../support/PgServer.js"

export const TOKEN = "api-test-token"

export interface Service {
  readonly base: string
  readonly stop: () => Promise<void>
  /** fetch with the bearer token (JSON body when given) */
  readonly send: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>
  readonly get: (path: string) => Promise<{ status: number; body: any }>
}

export const startService = async (options: {
  readonly destination: string
  readonly sources: ReadonlyArray<SourceGroup>
  readonly database: boolean
  readonly corsOrigins?: ReadonlyArray<string>
}): Promise<Service> => {
  const port = await freePort()
  const base = walferryConfig({ destination: options.destination, sources: [] })
  const config: WalferryConfig = {
    ...base,
    sources: options.sources,
    tuning: { ...base.tuning, syncChunkRows: 2_000 },
    api: {
      enabled: true,
      host: "127.0.0.1",
      port,
      token: Redacted.make(TOKEN),
      seriesIntervalMs: 5000,
      seriesWindowMinutes: 30,
      ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins })
    },
    mapReadOnly: !options.database,
    ...(options.database
      ? {
          mapMode: "database" as const,
          tableDefaults: { autoCreate: true, firstVersionStart: "commit" as const, addPositionColumn: true }
        }
      : {})
  }
  const quiet = process.env.WALFERRY_TEST_LOGS ? Layer.empty : Logger.minimumLogLevel(LogLevel.Warning)
  const fiber = Effect.runFork(
    runService.pipe(Effect.provide(ServiceBaseLive), Effect.provide(Layer.merge(appConfigLayer(config), quiet)))
  )
  const url = `http://127.0.0.1:${port}`
  const parse = async (res: Response) => {
    const text = await res.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // empty or text
    }
    return { status: res.status, body: body as any }
  }
  const send = async (method: string, path: string, body?: unknown) =>
    parse(
      await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    )
  const get = async (path: string) => parse(await fetch(`${url}${path}`))
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false
    )
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return { base: url, stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined), send, get }
}
