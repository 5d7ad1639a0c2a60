/**
 * Resync requests (`RunSwitch.resyncs`, the targets named by `POST /tables/{table}/resync`) consumed by
 * every source reader that maps the target: each reader copies its own part again, and the target leaves
 * the set once every source URL mapping it has picked it up (a reader that is restarting picks it up when
 * it subscribes again). A request is in memory until picked up; from then on the sync's plan is durable.
 */
import { Effect, Stream, SubscriptionRef } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { TableMapping, WalferryConfig } from "../config/Config.js"
import { RunSwitch, type RunSwitchShape } from "../pipeline/Control.js"

/** per switch: target → source keys that have not picked the request up yet */
const waiting = new WeakMap<RunSwitchShape, Map<string, Set<string>>>()

const sourcesMapping = (config: WalferryConfig, target: string): Set<string> =>
  new Set(
    config.sources.flatMap((g) =>
      g.tables.some((t) => t.target === target) ? g.urls.map((u) => `${g.database}/${u.sid}`) : []
    )
  )

/** calls `onRequest` for each resync of a target in `mapped` (by target) asked for `source`; never returns */
export const awaitResyncs = <E, R>(
  source: string,
  mapped: ReadonlyMap<string, TableMapping>,
  onRequest: (mapping: TableMapping) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function* () {
    const sw = yield* RunSwitch
    const config = yield* AppConfig
    const byTarget = waiting.get(sw) ?? new Map<string, Set<string>>()
    waiting.set(sw, byTarget)
    yield* sw.resyncs.changes.pipe(
      Stream.runForEach((targets) =>
        Effect.forEach(
          [...targets],
          (target) =>
            Effect.gen(function* () {
              const mapping = mapped.get(target)
              if (mapping === undefined) return
              let left = byTarget.get(target)
              if (left === undefined) byTarget.set(target, (left = sourcesMapping(config, target)))
              if (!left.delete(source)) return
              yield* onRequest(mapping)
              if (left.size > 0) return
              byTarget.delete(target)
              yield* SubscriptionRef.update(sw.resyncs, (s) => new Set([...s].filter((t) => t !== target)))
            }),
          { discard: true }
        )
      )
    )
    return yield* Effect.never
  })
