/**
 * walferry as a service: the engine plus everything that outlives its restarts (status, operator
 * control, HTTP API). `runService` ends after a drain-stop request or an interrupt (SIGTERM/SIGINT),
 * in both cases after the graceful shutdown of the engine.
 */
import { Deferred, Effect, Fiber, Layer, Option } from "effect"
import { Cluster } from "../cluster/Cluster.js"
import { HttpApiLive } from "../http/Api.js"
import { SequencesLive } from "../sequences/Sequences.js"
import { SeriesLive } from "../telemetry/Series.js"
import { EngineControlLive, RunSwitch, RunSwitchLive } from "./Control.js"
import { CurrentAcknowledgerLive, CurrentRunLive, CurrentWritersLive } from "./CurrentRun.js"
import { runEngine } from "./Engine.js"
import { EngineStatusLive } from "./EngineStatus.js"
import { LiveMappingLive } from "./LiveMapping.js"

/** status, pause switch and current run: shared by the engine and the API */
export const ServiceBaseLive = Layer.mergeAll(EngineStatusLive, RunSwitchLive, CurrentRunLive)

export const ApiLive = HttpApiLive.pipe(
  Layer.provide(SeriesLive),
  Layer.provide(Layer.mergeAll(EngineControlLive, CurrentWritersLive, CurrentAcknowledgerLive, SequencesLive))
)

export const runService = Effect.gen(function* () {
  const sw = yield* RunSwitch
  // cluster mode: the other runners take this runner's sources at once, while they drain here
  const leave = Effect.flatMap(Effect.serviceOption(Cluster), (c) => (Option.isSome(c) ? c.value.leave : Effect.void))
  const engine = yield* Effect.fork(runEngine)
  // on SIGTERM/SIGINT the interrupt reaches this scope: wait for the engine's graceful shutdown
  yield* Effect.addFinalizer(() => Effect.zipRight(leave, Fiber.interrupt(engine)))
  yield* Effect.raceFirst(Fiber.join(engine), Deferred.await(sw.stopRequested))
  yield* leave
  yield* Fiber.interrupt(engine)
  yield* Effect.logInfo("drained and stopped")
}).pipe(Effect.scoped, Effect.provide(ApiLive), Effect.provide(LiveMappingLive))
