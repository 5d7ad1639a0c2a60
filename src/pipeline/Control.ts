/**
 * The engine side of operator control: a pause switch every source reader watches, and a stop
 * request the main program turns into a graceful shutdown (drain, confirm, exit 0).
 */
import { Context, Deferred, Effect, Layer, Option, Stream, SubscriptionRef } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { ControlRejected, EngineControl, type EngineControlShape } from "./EngineControl.js"
import { LiveMapping } from "./LiveMapping.js"

export interface RunSwitchShape {
  readonly paused: SubscriptionRef.SubscriptionRef<boolean>
  /** completes when a drain-stop was requested */
  readonly stopRequested: Deferred.Deferred<void>
  /** targets whose sources must copy them again, consumed by the readers */
  readonly resyncs: SubscriptionRef.SubscriptionRef<ReadonlySet<string>>
}

export class RunSwitch extends Context.Tag("walferry/RunSwitch")<RunSwitch, RunSwitchShape>() {}

export const RunSwitchLive = Layer.effect(
  RunSwitch,
  Effect.all({
    paused: SubscriptionRef.make(false),
    stopRequested: Deferred.make<void>(),
    resyncs: SubscriptionRef.make<ReadonlySet<string>>(new Set())
  })
)

/** waits until `paused` has the value `value` */
export const awaitPaused = (sw: RunSwitchShape, value: boolean): Effect.Effect<void> =>
  sw.paused.changes.pipe(
    Stream.filter((p) => p === value),
    Stream.take(1),
    Stream.runDrain
  )

export const makeEngineControl = Effect.gen(function* () {
  const sw = yield* RunSwitch
  const config = yield* AppConfig
  const live = yield* Effect.serviceOption(LiveMapping)
  const sources = Option.match(live, {
    onNone: () => Effect.succeed(config.sources),
    onSome: (ref) => Effect.map(SubscriptionRef.get(ref), (g) => g.config.sources)
  })
  const mapped = (target: string) =>
    Effect.map(sources, (groups) => groups.some((g) => g.tables.some((t) => t.target === target)))
  return {
    pause: SubscriptionRef.set(sw.paused, true),
    resume: SubscriptionRef.set(sw.paused, false),
    paused: SubscriptionRef.get(sw.paused),
    drainStop: Effect.asVoid(Deferred.succeed(sw.stopRequested, undefined)),
    resync: (target) =>
      Effect.flatMap(mapped(target), (known) =>
        known
          ? SubscriptionRef.update(sw.resyncs, (s) => new Set([...s, target]))
          : Effect.fail(new ControlRejected(`no mapped table has target ${target}`))
      )
  } satisfies EngineControlShape
})

export const EngineControlLive = Layer.effect(EngineControl, makeEngineControl)
