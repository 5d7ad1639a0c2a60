/**
 * The sequence copier of the running service: a pass every `sequences.sync_interval_ms`
 * (a scoped fiber, ends with the service), plus `syncNow` for the API and cutover. Passes never overlap
 * (a semaphore); the last state of each sequence is kept for `/status`. A pass never fails.
 */
import { Context, Effect, Layer, Option, Ref, SubscriptionRef } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { defaultSequences } from "../config/Config.js"
import { sequenceSyncSchedule } from "../flow/Policies.js"
import { LiveMapping } from "../pipeline/LiveMapping.js"
import { syncSequences, type SequenceState } from "./SequenceSync.js"

export interface SequencesShape {
  /** copy every sequence now; returns this pass's states */
  readonly syncNow: Effect.Effect<ReadonlyArray<SequenceState>>
  /** the last pass's states (a failed read keeps the previous values, with the error) */
  readonly states: Effect.Effect<ReadonlyArray<SequenceState>>
}

export class Sequences extends Context.Tag("walferry/Sequences")<Sequences, SequencesShape>() {}

const merge = (previous: ReadonlyArray<SequenceState>, next: ReadonlyArray<SequenceState>) =>
  next.map((s) => {
    if (s.error === null) return s
    const before = previous.find((p) => p.sequence === s.sequence)
    return before === undefined ? s : { ...s, destinationValue: before.destinationValue, lastSyncAt: before.lastSyncAt }
  })

export const SequencesLive = Layer.scoped(
  Sequences,
  Effect.gen(function* () {
    const config = yield* AppConfig
    const live = yield* Effect.serviceOption(LiveMapping)
    const settings = config.sequences ?? defaultSequences
    const last = yield* Ref.make<ReadonlyArray<SequenceState>>([])
    const lock = yield* Effect.makeSemaphore(1)
    const syncNow = lock.withPermits(1)(
      Effect.gen(function* () {
        // the mapping in effect (wildcard keys expanded, or map_mode database), else the configured one
        const current = Option.isSome(live) ? (yield* SubscriptionRef.get(live.value)).config : config
        const states = yield* syncSequences(current)
        const previous = yield* Ref.getAndUpdate(last, (before) => merge(before, states))
        const advanced = states.filter((s) => s.advanced).length
        // each problem is logged when it appears, not on every pass
        const failed = states.filter(
          (s) => s.error !== null && previous.find((p) => p.sequence === s.sequence)?.error !== s.error
        )
        if (advanced > 0) yield* Effect.logInfo(`sequences: ${advanced} of ${states.length} advanced`)
        for (const s of failed) yield* Effect.logWarning(`sequence ${s.sequence}: ${s.error}`)
        return states
      })
    )
    if (settings.syncIntervalMs > 0) {
      // the first pass after one interval: at start the engine may still be creating the target tables
      yield* syncNow.pipe(
        Effect.repeat(sequenceSyncSchedule(settings.syncIntervalMs)),
        Effect.delay(`${settings.syncIntervalMs} millis`),
        Effect.forkScoped
      )
    }
    return { syncNow, states: Ref.get(last) }
  })
)
