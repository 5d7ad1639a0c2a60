/**
 * Initial sync of one source URL, decided from the slot and the durable sync state on the destination:
 * - slot just created: every mapped table is copied now, before streaming starts, from the slot's exported
 *   snapshot (SnapshotSync: chunked, parallel), so copy and stream meet exactly at the consistent point;
 * - slot kept: tables new to the publication, mapped tables with no sync record, and tables whose copy is
 *   unfinished (a crash during the first copy leaves the slot at its consistent point and the done chunks
 *   behind) are copied while streaming with watermarks (OnlineSync), as are later resync requests.
 * Why an interrupted first copy keeps its slot instead of recreating it: the chunks already copied hold the
 * old snapshot, and only the old slot still has every change after it. A new slot would skip those changes
 * for the copied rows, so every chunk would have to be copied again. Streaming from the old slot while the
 * remaining chunks are copied with watermarks keeps both, and it is exact (see WatermarkChunk).
 */
import { Effect, Option } from "effect"
import type pg from "pg"
import type { Acknowledger } from "../ack/Acknowledger.js"
import { AppConfig } from "../config/AppConfig.js"
import type { SourceGroup, SourceUrl, TableMapping, WalferryConfig } from "../config/Config.js"
import type { RunSwitch } from "../pipeline/Control.js"
import { EngineStatus } from "../pipeline/EngineStatus.js"
import type { SourceSetup } from "../source/slot/SlotManager.js"
import { Writers } from "../writers/Writers.js"
import { runOnlineSync, type OnlineTable } from "./OnlineSync.js"
import { deferredTargets, restoreIndexes } from "./DeferredIndexes.js"
import { markCopying } from "./watermark/MissingRows.js"
import { copySnapshot } from "./SnapshotSync.js"
import { byTarget, connectFor, destinationConfig, makeContext, pooledClient, step } from "./SyncContext.js"
import { Destination } from "../sink/Destination.js"
import { dropStalePlans, ensureSyncStore, loadPlans, loadWindows, type StoredPlan } from "./SyncStore.js"
import { acquireThrottle } from "./SyncThrottle.js"
import { parseSnapshot, WatermarkWindows } from "./watermark/WatermarkWindows.js"

export { CopyFailed } from "./SyncTable.js"

export interface SyncRequest {
  readonly group: SourceGroup
  readonly url: SourceUrl
  /** the engine's key of this source */
  readonly source: string
  readonly setup: SourceSetup
  /** what `loadSyncState` read from the destination for this source */
  readonly state: SyncState
}

/** the durable sync state of one source, read from the destination before its slot is known */
export interface SyncState {
  readonly plans: ReadonlyMap<string, StoredPlan>
  readonly records: ReadonlyArray<Awaited<ReturnType<typeof loadWindows>>[number]>
}

export interface SyncSession {
  /** give it to the ChangeDispatcher: watermark rows and held changes go through it */
  readonly windows: WatermarkWindows
  /** the syncs that run while streaming (and resync requests): fork it once the stream is read */
  readonly online: Effect.Effect<never, never, AppConfig | RunSwitch | Acknowledger>
}

/** destinations whose sync store this process already created or checked (its DDL locks, so only once) */
const storeReady = new Set<string>()

/**
 * Reads this source's sync plans and watermark windows from the destination (creating the store once per
 * process) and restores indexes a copy interrupted inside this process left dropped. Needs nothing from the
 * source, so it runs while the slot and publication are checked. Uses a connection of the engine's
 * destination pool when it runs inside the engine (a source start, or a hand-over in cluster mode, then opens
 * no new destination session).
 */
export const loadSyncState = (config: WalferryConfig, group: SourceGroup, source: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dstConfig = destinationConfig(config)
      const key = String(dstConfig.connectionString)
      // a connection of the running engine's pool when there is one: no new session on every (re)start
      const pooled = yield* Effect.serviceOption(Destination)
      const dst: pg.ClientBase = Option.isSome(pooled)
        ? yield* pooledClient(pooled.value.pool, "walferry.sync_tables")
        : yield* connectFor(dstConfig, "walferry.sync_tables")
      if (!storeReady.has(key)) {
        yield* step("walferry.sync_tables", () => ensureSyncStore(dst))
        storeReady.add(key)
      }
      const mapped = byTarget(group.tables).map((t) => t.target)
      const loaded = Effect.gen(function* () {
        yield* step("walferry.sync_tables", () => dropStalePlans(dst, source, mapped))
        const plans = yield* step("walferry.sync_tables", () => loadPlans(dst, source))
        const records = yield* step("walferry.sync_chunks", () => loadWindows(dst, source))
        // a copy interrupted inside this process (its writers stay open) left them dropped: the stream needs them
        const deferred = yield* step("walferry.deferred_indexes", () => deferredTargets(dst, source))
        for (const t of deferred) yield* step(t, () => restoreIndexes(dst, t, source))
        return { plans, records } satisfies SyncState
      })
      // the store was changed behind this process's back: create it again on the next try
      return yield* Effect.tapError(loaded, () => Effect.sync(() => storeReady.delete(key)))
    })
  )

const keyOf = (m: TableMapping) => `${m.schema}.${m.name}`

/**
 * Runs the snapshot copy when the slot is new (call it while the exported snapshot is held) and returns
 * what must run once the stream is read. Fails only when the sync state on the destination cannot be read;
 * tables that cannot be copied now are retried online.
 */
export const startInitialSync = (req: SyncRequest) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const writers = yield* Writers
    const status = yield* EngineStatus
    const throttle = yield* acquireThrottle(config, req.group)
    const ctx = makeContext(config, req.group, req.url, req.source, req.setup.publication.name, throttle, writers)
    const tables = byTarget(req.group.tables)
    const { plans, records } = req.state
    const windows = new WatermarkWindows()
    for (const r of records) windows.recover(r.target, r.from, r.to, parseSnapshot(r.snapshot))
    let online: Array<OnlineTable> = []
    if (req.setup.slot.snapshot !== undefined) {
      yield* status.set(req.source, { state: "syncing" })
      const unfinished = yield* copySnapshot(ctx, tables, req.setup.slot.snapshot)
      online = unfinished.map((mapping) => ({ mapping, fresh: false }))
    } else {
      const added = new Set(req.setup.needsCopy.map(keyOf))
      for (const mapping of tables) {
        const plan = plans.get(mapping.target)
        if (added.has(keyOf(mapping)) || plan === undefined) online.push({ mapping, fresh: true })
        else if (plan.state !== "done") online.push({ mapping, fresh: false })
      }
    }
    // before the stream is read: their writers must not insert partial rows the copy has not brought yet
    for (const job of online) markCopying(job.mapping.target, req.source)
    return { windows, online: runOnlineSync(ctx, windows, online) } satisfies SyncSession
  })
