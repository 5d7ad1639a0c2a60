/**
 * The actors of the pipeline run in progress. Writers and the acknowledger are rebuilt on every
 * restart; long-lived parts (HTTP API, metrics) read them through these views, which answer empty
 * while no run is up.
 */
import { Context, Effect, Layer, Option, Ref } from "effect"
import { Acknowledger, type AcknowledgerShape } from "../ack/Acknowledger.js"
import { Writers, type WritersShape } from "../writers/Writers.js"

export interface Run {
  readonly writers: WritersShape
  readonly ack: AcknowledgerShape
}

export class CurrentRun extends Context.Tag("walferry/CurrentRun")<CurrentRun, Ref.Ref<Option.Option<Run>>>() {}

export const CurrentRunLive = Layer.effect(CurrentRun, Ref.make(Option.none<Run>()))

const current = <A>(ref: Ref.Ref<Option.Option<Run>>, f: (run: Run) => Effect.Effect<A>, empty: A) =>
  Effect.flatMap(Ref.get(ref), Option.match({ onNone: () => Effect.succeed(empty), onSome: f }))

/** a Writers view of the current run (statuses only; empty between runs) */
export const CurrentWritersLive = Layer.effect(
  Writers,
  Effect.map(CurrentRun, (ref) => ({
    byTarget: new Map(),
    failure: Effect.never,
    hasFailed: Effect.succeed(false),
    drained: Effect.void,
    statuses: current(ref, (r) => r.writers.statuses, [])
  }))
)

/** an Acknowledger view of the current run (states only) */
export const CurrentAcknowledgerLive = Layer.effect(
  Acknowledger,
  Effect.map(CurrentRun, (ref) => ({
    register: () => Effect.die("not available outside a run"),
    attach: () => Effect.void,
    detach: () => Effect.void,
    release: () => undefined,
    capAt: () => undefined,
    keepAlive: () => undefined,
    received: () => undefined,
    flush: current(ref, (r) => r.ack.flush, undefined),
    states: current(ref, (r) => r.ack.states, [])
  }))
)
