import { Context, Effect, Layer, Ref } from "effect"

/** `elsewhere`: cluster mode, another runner streams this source */
export type SourceStateName = "starting" | "syncing" | "streaming" | "retrying" | "paused" | "stopped" | "elsewhere"

export interface SourceState {
  readonly source: string
  readonly database: string
  readonly sid: string
  readonly state: SourceStateName
  readonly error: string | undefined
  readonly since: number
  readonly restarts: number
}

export interface EngineStatusShape {
  readonly set: (source: string, patch: Partial<Omit<SourceState, "source">>) => Effect.Effect<void>
  readonly sources: Effect.Effect<ReadonlyArray<SourceState>>
}

/** What each source is doing, for logs, `/status` and readiness. Outlives pipeline restarts. */
export class EngineStatus extends Context.Tag("walferry/EngineStatus")<EngineStatus, EngineStatusShape>() {}

export const makeEngineStatus = Effect.gen(function* () {
  const ref = yield* Ref.make(new Map<string, SourceState>())
  return {
    set: (source, patch) =>
      Ref.update(ref, (m) => {
        const prev = m.get(source) ?? {
          source,
          database: "",
          sid: "",
          state: "starting" as const,
          error: undefined,
          since: Date.now(),
          restarts: 0
        }
        const next = new Map(m)
        const changed = patch.state !== undefined && patch.state !== prev.state
        next.set(source, { ...prev, ...patch, source, since: changed ? Date.now() : prev.since })
        return next
      }),
    sources: Effect.map(Ref.get(ref), (m) => [...m.values()])
  } satisfies EngineStatusShape
})

export const EngineStatusLive = Layer.effect(EngineStatus, makeEngineStatus)
