/** How long each step of a source's start took, as debug logs (`startup: <step> <ms> ms`). */
import { Effect } from "effect"

/** runs `self` and logs at debug level how long `step` took, whether it succeeded or not */
export const timed =
  (step: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const t0 = Date.now()
      return Effect.ensuring(
        self,
        Effect.suspend(() => Effect.logDebug(`startup: ${step} ${Date.now() - t0} ms`))
      )
    })
