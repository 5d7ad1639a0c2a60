import { Context, type Effect } from "effect"

export class ControlRejected extends Error {
  readonly _tag = "ControlRejected"
}

/**
 * Operator commands, served by the HTTP API. The engine implements it; `Unknown table` and similar
 * refusals fail with ControlRejected carrying a message for the caller.
 */
export interface EngineControlShape {
  /** stop consuming from every source; slots keep their position, nothing is lost */
  readonly pause: Effect.Effect<void>
  readonly resume: Effect.Effect<void>
  readonly paused: Effect.Effect<boolean>
  /** apply everything received, confirm it, then end the process with exit code 0 */
  readonly drainStop: Effect.Effect<void>
  /** copy one destination table again from its sources while everything else keeps streaming */
  readonly resync: (target: string) => Effect.Effect<void, ControlRejected>
}

export class EngineControl extends Context.Tag("walferry/EngineControl")<EngineControl, EngineControlShape>() {}
