/**
 * The mapping in effect, changeable while the process runs. The engine runs one pipeline per generation: a new
 * generation (a changed mapping, or `POST /api/url/restart`) ends the current run gracefully (readers stop,
 * writers drain, positions are confirmed) and starts the next with the new mapping, which brings each source's
 * publication in line (added tables are copied online, removed ones dropped) — no process restart.
 */
import { Context, Effect, Layer, Redacted, SubscriptionRef } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { SourceGroup, WalferryConfig } from "../config/Config.js"
import { restartBackoff } from "../flow/Policies.js"
import { loadGroups, openStore } from "../mapping/MapStore.js"

export interface Generation {
  readonly config: WalferryConfig
  readonly generation: number
}

export class LiveMapping extends Context.Tag("walferry/LiveMapping")<
  LiveMapping,
  SubscriptionRef.SubscriptionRef<Generation>
>() {}

/** map_mode database: the stored mapping, read (retried until the destination answers) before anything starts */
const initial = (config: WalferryConfig) =>
  config.mapMode !== "database"
    ? Effect.succeed(config)
    : Effect.scoped(Effect.flatMap(openStore(config), (client) => loadGroups(client, config))).pipe(
        Effect.tapError((e) =>
          Effect.logWarning(`cannot read the mapping from the destination, retrying: ${e.message}`)
        ),
        Effect.retry(restartBackoff),
        Effect.map((sources) => ({ ...config, sources }))
      )

export const LiveMappingLive = Layer.effect(
  LiveMapping,
  Effect.flatMap(AppConfig, (config) =>
    Effect.flatMap(initial(config), (loaded) => SubscriptionRef.make<Generation>({ config: loaded, generation: 0 }))
  )
)

/** the configuration with the mapping in effect now */
export const currentConfig: Effect.Effect<WalferryConfig, never, LiveMapping> = Effect.flatMap(LiveMapping, (ref) =>
  Effect.map(SubscriptionRef.get(ref), (g) => g.config)
)

/** puts `sources` in effect (a new run), unless they equal the current ones */
export const replaceSources = (sources: ReadonlyArray<SourceGroup>): Effect.Effect<boolean, never, LiveMapping> =>
  Effect.flatMap(LiveMapping, (ref) =>
    SubscriptionRef.modify(ref, (g) =>
      sameSources(g.config.sources, sources)
        ? [false, g]
        : [true, { config: { ...g.config, sources }, generation: g.generation + 1 }]
    )
  )

/** starts a new run with the same mapping (every source reconnects) */
export const restartRun: Effect.Effect<void, never, LiveMapping> = Effect.flatMap(LiveMapping, (ref) =>
  SubscriptionRef.update(ref, (g) => ({ ...g, generation: g.generation + 1 }))
)

/** groups compared with their URLs' values (never logged or returned) */
const fingerprint = (groups: ReadonlyArray<SourceGroup>) =>
  JSON.stringify(groups.map((g) => ({ ...g, urls: g.urls.map((u) => [u.sid, Redacted.value(u.url)]) })))

const sameSources = (a: ReadonlyArray<SourceGroup>, b: ReadonlyArray<SourceGroup>): boolean =>
  fingerprint(a) === fingerprint(b)
