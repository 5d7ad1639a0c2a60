/**
 * Source reader actor: one per source URL. Prepares publication and slot, copies what needs copying,
 * then streams from the slot and dispatches every change to the writer of its target table.
 *
 * Ordering: server order; per target table the writer keeps it. Acked: see Acknowledger — the reader
 * only counts what it dispatched. Restart: a failure of this source (connection lost, slot busy, …)
 * restarts only this reader, with capped backoff, once every change it already dispatched has been
 * committed or skipped; it then replays from the slot's confirmed position. If the writers cannot drain
 * in time the failure escalates to a full pipeline restart. On shutdown the reader stops reading,
 * waits (bounded) for the writers to drain and confirms the final position.
 */
import { Data, Effect, Exit, Option, Runtime } from "effect"
import { Acknowledger } from "../ack/Acknowledger.js"
import type { LsnTracker } from "../ack/LsnTracker.js"
import { AppConfig } from "../config/AppConfig.js"
import type { SourceGroup, SourceUrl } from "../config/Config.js"
import { restartBackoff, slotBusyRetry } from "../flow/Policies.js"
import { awaitPaused, RunSwitch } from "../pipeline/Control.js"
import { EngineStatus } from "../pipeline/EngineStatus.js"
import { Router } from "../route/Router.js"
import { timed } from "../telemetry/StartupTiming.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { countExpressionFailure, countRestart, heartbeat } from "../telemetry/Metrics.js"
import type { RowFailure } from "../route/RowTransform.js"
import { makeSourceTxTracer } from "../telemetry/SourceTxTracer.js"
import { Writers } from "../writers/Writers.js"
import { ChangeDispatcher } from "./ChangeDispatcher.js"
import { matchesPattern } from "../config/TablePattern.js"
import type { DdlEvent } from "../domain/DdlEvent.js"
import { LiveMapping } from "../pipeline/LiveMapping.js"
import { requestExpansion } from "../pipeline/WildcardWatch.js"
import { ReadPump } from "./ReadPump.js"
import { openReplication } from "./ReplicationConnection.js"
import type { RawArena } from "../decode/RawTuple.js"
import { pollSlot } from "./slot/SlotStatus.js"
import { startSource } from "./SourceStart.js"

export class SourceRestartBlocked extends Data.TaggedError("SourceRestartBlocked")<{
  readonly source: string
  readonly outstanding: number
}> {
  override get message() {
    return `source ${this.source}: ${this.outstanding} changes still in flight after its connection failed; restarting the pipeline`
  }
}

export const sourceKey = (group: SourceGroup, url: SourceUrl) => `${group.database}/${url.sid}`

/** waits, bounded, until every change this source dispatched is committed or skipped (or a writer failed) */
const awaitDrained = (tracker: LsnTracker, timeoutMs: number) =>
  Effect.gen(function* () {
    const writers = yield* Writers
    const until = Date.now() + timeoutMs
    while (tracker.outstanding > 0 && Date.now() < until && !(yield* writers.hasFailed)) {
      yield* Effect.sleep("20 millis")
    }
  })

const streamOnce = (group: SourceGroup, configured: SourceUrl) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const ack = yield* Acknowledger
    const writers = yield* Writers
    const status = yield* EngineStatus
    const source = sourceKey(group, configured)
    yield* status.set(source, { database: group.database, sid: configured.sid, state: "starting", error: undefined })
    const started = Date.now()
    const { url, notNull, filterOrigin, setup, sync } = yield* startSource(group, configured, source)
    const tracker = yield* ack.register(source, setup.slot.snapshot?.consistentPoint ?? 0n)
    const arenas = new Map<number, RawArena>()
    const conn = yield* openReplication({
      arenaOf: (oid) => arenas.get(oid),
      source,
      url: url.url,
      slot: setup.slot.name,
      publication: setup.publication.name,
      highWater: 4096,
      applicationName: `walferry_${group.database}`,
      originNone: filterOrigin
    }).pipe(timed("replication started"))
    yield* ack.attach(source, conn.sendStatus)
    const txTracer = yield* makeSourceTxTracer({ source, database: group.database, sid: url.sid })
    const runtime = yield* Effect.runtime<never>()
    const onFailure = (f: RowFailure) => {
      countExpressionFailure(group.database, url.sid, f.table)
      Runtime.runFork(runtime)(
        Effect.logError(`row not applied, its expressions failed: ${f.detail}`).pipe(
          Effect.annotateLogs({ table: f.table, key: f.key })
        )
      )
    }
    const router = new Router(group, writers.byTarget, notNull, onFailure)
    const capture = group.ddl === "capture"
    const mapping = yield* Effect.serviceOption(LiveMapping)
    const onUnmapped = (event: DdlEvent) => {
      if (
        event.after === null ||
        !(group.wildcards ?? []).some((w) => matchesPattern(w, event.newSchema, event.newName))
      )
        return
      if (Option.isSome(mapping)) {
        Runtime.runFork(runtime)(
          Effect.logInfo(`new table ${event.newSchema}.${event.newName} matches a wildcard key`).pipe(
            Effect.zipRight(requestExpansion),
            Effect.provideService(LiveMapping, mapping.value)
          )
        )
      }
    }
    const dispatcher = new ChangeDispatcher(
      source,
      url.sid,
      router,
      tracker,
      sync.windows,
      txTracer,
      arenas,
      capture,
      onUnmapped
    )
    const pump = new ReadPump(conn, dispatcher, tracker, ack, () => heartbeat(group.database, url.sid))
    yield* Effect.addFinalizer((exit) =>
      Effect.gen(function* () {
        if (Exit.isInterrupted(exit) && !(yield* writers.hasFailed)) {
          const boundary = yield* pump
            .finish(Date.now() + config.tuning.shutdownTimeoutMs / 2)
            .pipe(Effect.orElseSucceed(() => false))
          if (!boundary)
            yield* Effect.logWarning("stopped inside a transaction: its applied part is replayed and skipped later")
        }
        conn.pause()
        yield* awaitDrained(tracker, config.tuning.shutdownTimeoutMs)
        if (tracker.outstanding > 0)
          yield* Effect.logWarning(`stopping with ${tracker.outstanding} changes not applied`)
        yield* ack.detach(source)
        if (!Exit.isInterrupted(exit) && tracker.outstanding > 0) {
          yield* Effect.logWarning(new SourceRestartBlocked({ source, outstanding: tracker.outstanding }).message)
        }
      })
    )
    yield* status.set(source, { state: "streaming", error: undefined })
    yield* Effect.logInfo(`streaming (started in ${Date.now() - started} ms)`).pipe(
      Effect.annotateLogs({ source, slot: setup.slot.name })
    )
    yield* sync.online.pipe(Effect.forkScoped)
    yield* pollSlot(group.database, url, setup.slot.name).pipe(Effect.forkScoped)
    return yield* pump.run
  }).pipe(Effect.scoped, Effect.ensuring(Effect.logDebug("stream closed")))

/** pauses on request (the stream stops after draining, the slot keeps its position) and resumes on request */
const pausable = (group: SourceGroup, url: SourceUrl) =>
  Effect.gen(function* () {
    const sw = yield* RunSwitch
    const status = yield* EngineStatus
    const source = sourceKey(group, url)
    while (true) {
      yield* awaitPaused(sw, false)
      yield* Effect.raceFirst(streamOnce(group, url), awaitPaused(sw, true))
      yield* status.set(source, { state: "paused", error: undefined })
      yield* Effect.logInfo("paused")
    }
  })

/** the slot is streamed by another process (55006 "replication slot ... is active for PID ...") */
export const isSlotBusy = (e: { readonly _tag: string; readonly cause?: unknown }): boolean =>
  e._tag === "SlotInUse" ||
  (e._tag === "ReplicationClosed" && (e.cause as { code?: unknown } | undefined)?.code === "55006")

/**
 * cluster mode: a slot the previous owner still streams (its walsender not gone yet) is tried again quietly
 * and soon; only after `slotBusyRetry` gives up does it become an ordinary, logged source failure
 */
const waitingForSlot = <A, E extends { readonly _tag: string; readonly message: string }, R>(
  source: string,
  self: Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    if (config.cluster?.enabled !== true) return yield* self
    const status = yield* EngineStatus
    return yield* self.pipe(
      Effect.tapError((e) =>
        isSlotBusy(e)
          ? Effect.zipRight(
              status.set(source, { state: "starting", error: undefined }),
              Effect.logDebug(`slot busy, waiting for its previous owner: ${e.message}`)
            )
          : Effect.void
      ),
      Effect.retry({ schedule: slotBusyRetry, while: isSlotBusy })
    )
  })

/** runs one source forever: its own failures restart only it, with capped exponential backoff */
export const runSource = (group: SourceGroup, url: SourceUrl) =>
  Effect.gen(function* () {
    const status = yield* EngineStatus
    const ack = yield* Acknowledger
    const source = sourceKey(group, url)
    let restarts = 0
    return yield* waitingForSlot(source, pausable(group, url)).pipe(
      Effect.tapError((e) =>
        e._tag === "SlotLost"
          ? Effect.void
          : Effect.gen(function* () {
              restarts++
              countRestart("source", e._tag)
              yield* Effect.annotateCurrentSpan("restarts", restarts)
              yield* status.set(source, { state: "retrying", error: e.message, restarts })
              yield* Effect.logWarning(`source failed, retrying: ${e.message}`)
              // a wildcard-matched table dropped since the expansion: expand again (a new run without it)
              const mapping = yield* Effect.serviceOption(LiveMapping)
              if (e._tag === "SourceTableMissing" && Option.isSome(mapping)) {
                yield* Effect.forkDaemon(Effect.provideService(requestExpansion, LiveMapping, mapping.value))
              }
            }).pipe(
              Effect.withSpan("Source.restart", {
                attributes: { source, error: e._tag, reason: redactSecrets(e.message) }
              })
            )
      ),
      Effect.retry({
        schedule: restartBackoff,
        while: (e) =>
          e._tag === "SlotLost"
            ? false
            : Effect.map(ack.states, (states) => (states.find((s) => s.source === source)?.outstanding ?? 0) === 0)
      }),
      // a lost slot stops this source only: retrying cannot bring the slot back, recreating it needs on_lost
      Effect.catchTag("SlotLost", (e) =>
        Effect.zipRight(
          Effect.zipRight(status.set(source, { state: "stopped", error: e.message }), Effect.logError(e.message)),
          Effect.never
        )
      )
    )
  }).pipe(Effect.annotateLogs({ source: sourceKey(group, url) }))
