/**
 * Helpers of the initial-sync tests: table digests (md5 over the rows in key order), the durable sync
 * state on the destination, and a writer that keeps inserting, updating and deleting rows across a key
 * range of a source table while a sync runs.
 */
import { Effect, Exit, Fiber, Layer, Logger, LogLevel, SubscriptionRef } from "effect"
import pg from "pg"
import { appConfigLayer } from "../../src/config/AppConfig.js"
import type { WalferryConfig } from "../../src/config/Config.js"
import { RunSwitch, type RunSwitchShape } from "../../src/pipeline/Control.js"
import { runEngine } from "../../src/pipeline/Engine.js"
import { ServiceBaseLive } from "../../src/pipeline/Service.js"
import type { TestPg } from "./Pg.js"

/** md5 of every row of `select` (which must name its columns) in `order` */
export const digest = async (server: TestPg, db: string, select: string, order: string): Promise<string> => {
  const rows = await server.query<{ d: string | null; n: string }>(
    `select md5(coalesce(string_agg(r::text, E'\\n' order by ${order}), '')) as d, count(*)::text as n from (${select}) r`,
    [],
    db
  )
  return `${rows[0]!.n}:${rows[0]!.d}`
}

export interface SyncRow {
  readonly target: string
  readonly source: string
  readonly state: string
  readonly method: string
  readonly chunk_count: number
}

export const syncTables = (dest: TestPg, db: string): Promise<Array<SyncRow>> =>
  dest
    .query<SyncRow>("select target, source, state, method, chunk_count from walferry.sync_tables order by 1, 2", [], db)
    .catch(() => [])

export interface ChunkRow {
  readonly target: string
  readonly chunk: number
  readonly method: string | null
  readonly rows: string | null
  readonly run_id: string | null
  readonly done_at: Date | null
}

export const syncChunks = (dest: TestPg, db: string, target?: string): Promise<Array<ChunkRow>> =>
  dest
    .query<ChunkRow>(
      `select target, chunk, method, rows, run_id, done_at from walferry.sync_chunks
       where $1::text is null or target = $1 order by target, source, chunk`,
      [target ?? null],
      db
    )
    .catch(() => [])

/** every (target, source) of `targets` has a done sync record */
export const syncDone = async (dest: TestPg, db: string, targets: ReadonlyArray<string>, sources = 1) => {
  const rows = await syncTables(dest, db)
  return targets.every((t) => rows.filter((r) => r.target === t && r.state === "done").length >= sources)
}

export interface Load {
  readonly stop: () => Promise<{ readonly statements: number }>
}

/**
 * Random single-row inserts, updates and deletes on `table (id bigint key, …)` for ids in [0, maxId),
 * `update`: SQL of the update's SET clause, `insert`: the insert's column list and values for `$1` (id).
 */
export const startLoad = async (
  url: string,
  options: {
    readonly table: string
    readonly maxId: number
    readonly insert: string
    readonly set: string
    readonly pauseMs?: number
  }
): Promise<Load> => {
  const client = new pg.Client({ connectionString: url })
  client.on("error", () => undefined)
  await client.connect()
  let running = true
  let statements = 0
  const loop: Promise<unknown> = (async () => {
    while (running) {
      const id = Math.floor(Math.random() * options.maxId)
      const op = Math.random()
      if (op < 0.3) await client.query(`insert into ${options.table} ${options.insert} on conflict do nothing`, [id])
      else if (op < 0.8) await client.query(`update ${options.table} set ${options.set} where id = $1`, [id])
      else await client.query(`delete from ${options.table} where id = $1`, [id])
      statements++
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs))
    }
  })().catch((e: unknown) => e)
  return {
    stop: async () => {
      running = false
      const failed = await loop
      await client.end().catch(() => undefined)
      if (failed !== undefined) throw failed
      return { statements }
    }
  }
}

/** sets per-table options (existing_rows) on a built test configuration */
export const withTableOptions = (
  config: WalferryConfig,
  options: Readonly<Record<string, { readonly existingRows?: "truncate" | "upsert" }>>
): WalferryConfig => ({
  ...config,
  sources: config.sources.map((g) => ({
    ...g,
    tables: g.tables.map((t) => ({ ...t, ...options[t.target] }))
  }))
})

/** the in-process engine of `startEngine`, plus a resync request as POST /tables/{t}/resync makes it */
export const startEngineWithResync = (config: WalferryConfig) => {
  const layer = Layer.mergeAll(appConfigLayer(config), ServiceBaseLive, quiet)
  let control: RunSwitchShape | undefined
  const fiber = Effect.runFork(
    Effect.gen(function* () {
      control = yield* RunSwitch
      return yield* runEngine
    }).pipe(Effect.provide(layer))
  )
  return {
    stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined),
    failed: () => {
      const poll = fiber.unsafePoll()
      return poll !== null && Exit.isFailure(poll) && !Exit.isInterrupted(poll)
    },
    resync: (target: string) =>
      Effect.runPromise(SubscriptionRef.update(control!.resyncs, (s) => new Set([...s, target])))
  }
}

const quiet = process.env.WALFERRY_TEST_LOGS ? Layer.empty : Logger.minimumLogLevel(LogLevel.Warning)
