/**
 * Runs the walferry engine in-process for integration tests, and builds configurations for it.
 */
import { Effect, Exit, Fiber, FiberRef, HashMap, Layer, Logger, LogLevel, Redacted, Supervisor } from "effect"
import type { TableMapping, TableMode, WalferryConfig } from "../../src/config/Config.js"
import { appConfigLayer } from "../../src/config/AppConfig.js"
import { runEngine } from "../../src/pipeline/Engine.js"
import { ServiceBaseLive } from "../../src/pipeline/Service.js"
import { serverDiagnostics } from "./Pg.js"

export interface TableSpec {
  readonly table: string
  readonly target?: string
  readonly mode?: TableMode
  readonly partitionsRegex?: string
}

export interface SourceSpec {
  readonly database: string
  readonly urls: ReadonlyArray<{ readonly url: string; readonly sid: string }>
  readonly tables: ReadonlyArray<TableSpec | string>
}

export const tableMapping = (spec: TableSpec | string): TableMapping => {
  const s = typeof spec === "string" ? { table: spec } : spec
  const dot = s.table.indexOf(".")
  const schema = dot > 0 ? s.table.slice(0, dot) : "public"
  const name = dot > 0 ? s.table.slice(dot + 1) : s.table
  return {
    schema,
    name,
    mode: s.mode ?? "clone",
    target: s.target ?? name,
    partitionsRegex: s.partitionsRegex,
    autoCreate: false,
    history: { start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" }
  }
}

export const pipelineConfig = (options: {
  readonly destination: string
  readonly sources: ReadonlyArray<SourceSpec>
  readonly tuning?: Partial<WalferryConfig["tuning"]>
  readonly prefix?: string
}): WalferryConfig => ({
  origin: "test",
  destination: { url: Redacted.make(options.destination), schema: "public" },
  sources: options.sources.map((s) => ({
    database: s.database,
    urls: s.urls.map((u) => ({ url: Redacted.make(u.url), sid: u.sid })),
    tables: s.tables.map(tableMapping)
  })),
  tuning: {
    writers: 4,
    batchSize: 5000,
    commitIntervalMs: 20,
    batchMinRows: 256,
    batchLingerMs: 10,
    batchRoundRows: 32,
    mailboxCapacity: 4096,
    statusIntervalMs: 200,
    syncParallelism: 2,
    syncChunkRows: 50_000,
    syncRateRows: undefined,
    syncRateBytes: undefined,
    shutdownTimeoutMs: 10_000,
    ...options.tuning
  },
  api: {
    enabled: false,
    host: "127.0.0.1",
    port: 0,
    token: undefined,
    seriesIntervalMs: 5000,
    seriesWindowMinutes: 30
  },
  naming: { prefix: options.prefix ?? "walferry" },
  log: { level: "info", format: "logfmt" },
  mapReadOnly: true
})

export interface RunningEngine {
  readonly stop: () => Promise<void>
  readonly failed: () => boolean
}

/** one line: id, age, status ("waiting on N": the fiber it awaits), span and log annotations */
const describeFiber = async (fiber: Fiber.RuntimeFiber<unknown, unknown>): Promise<string> => {
  const pretty = (await Effect.runPromise(Fiber.pretty(fiber))).replace(/\n\s*/g, " ")
  const span = (fiber as unknown as { readonly currentSpan?: { readonly name?: string } }).currentSpan?.name
  const notes = HashMap.toEntries(fiber.getFiberRef(FiberRef.currentLogAnnotations))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ")
  return `${pretty}${span ? ` span=${span}` : ""}${notes ? ` ${notes}` : ""}`
}

/** every fiber of this process that is not done, as a tree from the roots (forkScoped fibers are roots) */
const liveFibers = async (): Promise<string> => {
  const lines: Array<string> = []
  const visit = async (fiber: Fiber.RuntimeFiber<unknown, unknown>, depth: number): Promise<void> => {
    if (lines.length >= 300 || fiber.unsafePoll() !== null) return
    lines.push(`${"  ".repeat(depth)}${await describeFiber(fiber)}`)
    for (const child of await Effect.runPromise(fiber.children)) await visit(child, depth + 1)
  }
  for (const root of await Effect.runPromise(Fiber.roots)) await visit(root, 0)
  return lines.join("\n")
}

/**
 * every live fiber the engine started, flat (Supervisor.track): the tree above misses some, since a fiber that
 * ends forgets the children it interrupts while it waits for them, so one hanging in a finalizer shows nowhere
 */
const trackedFibers = async (
  engine: Fiber.RuntimeFiber<unknown, unknown>,
  tracked: Supervisor.Supervisor<Array<Fiber.RuntimeFiber<unknown, unknown>>>
): Promise<string> => {
  const lines: Array<string> = []
  for (const fiber of [engine, ...(await Effect.runPromise(tracked.value))]) {
    if (lines.length >= 300) break
    if (fiber.unsafePoll() === null) lines.push(await describeFiber(fiber))
  }
  return lines.join("\n")
}

const quiet = process.env.WALFERRY_TEST_LOGS ? Layer.empty : Logger.minimumLogLevel(LogLevel.Warning)

export const startEngine = (config: WalferryConfig): RunningEngine => {
  const layer = Layer.mergeAll(appConfigLayer(config), ServiceBaseLive, quiet)
  const tracked = Effect.runSync(Supervisor.track)
  const fiber = Effect.runFork(runEngine.pipe(Effect.provide(layer), Effect.supervised(tracked)))
  return {
    stop: async () => {
      const stopping = Effect.runPromise(Fiber.interrupt(fiber))
      await bounded("the engine to stop", stopping, 30_000).catch(async (e: Error) => {
        // a stop that hangs says where: every fiber still alive, what it waits on, its span and log annotations
        await bounded("the engine to stop", stopping, 30_000).catch(async () => {
          throw new Error(
            `${e.message} (and 30 s more)\n--- live fibers:\n${await liveFibers()}\n` +
              `--- every live fiber of the engine:\n${await trackedFibers(fiber, tracked)}\n${await serverDiagnostics()}`
          )
        })
      })
    },
    failed: () => {
      const poll = fiber.unsafePoll()
      return poll !== null && Exit.isFailure(poll) && !Exit.isInterrupted(poll)
    }
  }
}

/** `promise`, or a failure naming `what` when it takes longer than `ms` (a hang names its phase) */
const bounded = async <A>(what: string, promise: Promise<A>, ms: number): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** polls `check` until it returns true, or fails with `what` after `timeoutMs` */
export const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> => {
  const until = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < until) {
    try {
      if (await bounded(`one check of ${what}`, check(), Math.max(1_000, until - Date.now()))) return
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}\n${await serverDiagnostics()}`
  )
}
