/**
 * Keeps wildcard keys expanded (mapping/Wildcards): before every run, the mapping in effect is expanded
 * against the sources' catalogs; while it runs, a new expansion that differs (a new table, captured CREATE
 * TABLE, a table gone) puts the new mapping in effect, which restarts the run gracefully (readers drain and
 * confirm, then the next run publishes, creates and copies the new tables online). Triggers: a captured
 * CREATE TABLE matching a key (`requestExpansion`), a table missing when the publication is prepared, and,
 * with `wildcard_recheck_ms`, a periodic look; sources whose catalog could not be read are looked at again
 * every few seconds.
 */
import { Effect, Option, SubscriptionRef } from "effect"
import type { SourceGroup, WalferryConfig } from "../config/Config.js"
import { WILDCARD_UNREAD_RETRY_MS } from "../flow/Policies.js"
import { expandSources } from "../mapping/Wildcards.js"
import { LiveMapping, replaceSources } from "./LiveMapping.js"

export const hasWildcards = (sources: ReadonlyArray<SourceGroup>): boolean =>
  sources.some((g) => (g.wildcards ?? []).length > 0)

/** the config to run with: wildcards expanded, and put in effect (same generation) so /status shows them */
export const expandForRun = (
  config: WalferryConfig
): Effect.Effect<{ readonly config: WalferryConfig; readonly unread: number }> =>
  Effect.gen(function* () {
    if (!hasWildcards(config.sources)) return { config, unread: 0 }
    const expansion = yield* expandSources(config.sources, config.destination)
    for (const w of expansion.warnings) yield* Effect.logWarning(w)
    const expanded = { ...config, sources: expansion.sources }
    const live = yield* Effect.serviceOption(LiveMapping)
    if (Option.isSome(live)) {
      yield* SubscriptionRef.update(live.value, (g) => ({ ...g, config: { ...g.config, sources: expansion.sources } }))
    }
    return { config: expanded, unread: expansion.unread.length }
  })

/** expands the mapping in effect again; a different result starts a new run. Returns how many sources were unread */
export const requestExpansion: Effect.Effect<number, never, LiveMapping> = Effect.gen(function* () {
  const ref = yield* LiveMapping
  const { config } = yield* SubscriptionRef.get(ref)
  if (!hasWildcards(config.sources)) return 0
  const expansion = yield* expandSources(config.sources, config.destination)
  if (yield* replaceSources(expansion.sources)) {
    for (const w of expansion.warnings) yield* Effect.logWarning(w)
    yield* Effect.logInfo("wildcard keys match a different set of tables: the pipeline restarts with them")
  }
  return expansion.unread.length
})

/** with a LiveMapping, while a run is up: the periodic look, and the retry of sources that could not be read */
export const watchWildcards = (
  config: WalferryConfig,
  unreadAtStart: number
): Effect.Effect<never, never, LiveMapping> =>
  Effect.gen(function* () {
    const every = config.wildcardRecheckMs ?? 0
    let unread = unreadAtStart
    while (hasWildcards(config.sources) && (every > 0 || unread > 0)) {
      yield* Effect.sleep(unread > 0 ? Math.min(every || WILDCARD_UNREAD_RETRY_MS, WILDCARD_UNREAD_RETRY_MS) : every)
      unread = yield* requestExpansion
    }
    return yield* Effect.never
  })
