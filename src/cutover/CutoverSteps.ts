/**
 * The per-source steps of a cutover, each against every source URL of the configuration, talking to the
 * source directly (the running walferry is observed through its replication slot, whose confirmed
 * position it only advances once the destination committed: see ack/Acknowledger).
 * - lag: bytes between the source's current WAL position and the slot's confirmed position.
 * - catch-up: take the source's current WAL position, write a (non-transactional) logical message after
 *   it so a quiet source still has WAL past it to decode, and wait until the slot confirmed it; then read
 *   the destination's per-table positions (walferry.positions) for the report.
 */
import { Effect } from "effect"
import pg from "pg"
import type { SourceGroup, SourceUrl, WalferryConfig } from "../config/Config.js"
import * as Lsn from "../domain/Lsn.js"
import { openClient } from "../lib/openClient.js"
import { query } from "../lib/Sql.js"
import { slotName } from "../source/Naming.js"
import { clientConfig } from "../source/SourceClient.js"
import { slotStatus } from "../source/slot/SlotStatus.js"

export interface SourceLag {
  readonly source: string
  readonly slot: string
  readonly active: boolean
  readonly currentLsn: string
  readonly confirmedLsn: string | null
  readonly lagBytes: number | null
}

export interface SourceCatchUp {
  readonly source: string
  readonly slot: string
  readonly targetLsn: string
  readonly confirmedLsn: string | null
  readonly reached: boolean
  readonly active: boolean
  /** destination tables' last applied position of this source */
  readonly positions: ReadonlyArray<{ readonly target: string; readonly lsn: string }>
}

export interface SourceRefs {
  readonly group: SourceGroup
  readonly url: SourceUrl
  /** `database` or `database/sid`, for messages */
  readonly label: string
  /** the engine's key of this source (walferry.positions.source) */
  readonly key: string
  readonly slot: string
}

export const sourcesOf = (config: WalferryConfig): ReadonlyArray<SourceRefs> =>
  config.sources.flatMap((group) =>
    group.urls.map((url) => ({
      group,
      url,
      label: url.sid === "" ? group.database : `${group.database}/${url.sid}`,
      key: `${group.database}/${url.sid}`,
      slot: slotName(config.naming.prefix, group.database, url.sid)
    }))
  )

/** a plain connection to one source, closed after `use` */
export const withSource = <A, E>(ref: SourceRefs, use: (client: pg.Client) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.tryPromise(() => openClient(clientConfig(ref.url.url, "walferry_cutover"))),
    use,
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

const currentLsn = (client: pg.ClientBase) =>
  Effect.map(query<{ lsn: string }>(client, "select pg_current_wal_lsn()::text as lsn"), (r) => Lsn.parse(r[0]!.lsn))

export const sourceLag = (ref: SourceRefs) =>
  withSource(ref, (client) =>
    Effect.gen(function* () {
      const current = yield* currentLsn(client)
      const slot = yield* slotStatus(client, ref.slot)
      const confirmed = slot.confirmedFlushLsn
      return {
        source: ref.label,
        slot: ref.slot,
        active: slot.active,
        currentLsn: Lsn.format(current),
        confirmedLsn: confirmed === undefined ? null : Lsn.format(confirmed),
        lagBytes: confirmed === undefined ? null : Number(Lsn.distance(confirmed, current))
      } satisfies SourceLag
    })
  )

const positionsOf = (config: WalferryConfig, source: string) =>
  Effect.acquireUseRelease(
    Effect.tryPromise(() => openClient(clientConfig(config.destination.url, "walferry_cutover"))),
    (client) =>
      query<{ target: string; lsn: string }>(
        client,
        "select target, lsn::text as lsn from walferry.positions where source = $1 order by target",
        [source]
      ),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )

export const sourceCatchUp = (config: WalferryConfig, ref: SourceRefs, timeoutMs: number) =>
  withSource(ref, (client) =>
    Effect.gen(function* () {
      yield* query(client, "set default_transaction_read_only = off")
      const target = yield* currentLsn(client)
      yield* query(client, "select pg_logical_emit_message(false, 'walferry.cutover', '')")
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const slot = yield* slotStatus(client, ref.slot)
        const confirmed = slot.confirmedFlushLsn
        const reached = confirmed !== undefined && confirmed >= target
        if (reached || !slot.exists || Date.now() >= deadline) {
          const positions = reached ? yield* positionsOf(config, ref.key) : []
          return {
            source: ref.label,
            slot: ref.slot,
            targetLsn: Lsn.format(target),
            confirmedLsn: confirmed === undefined ? null : Lsn.format(confirmed),
            reached,
            active: slot.active,
            positions
          } satisfies SourceCatchUp
        }
        yield* Effect.sleep("200 millis")
      }
    })
  )
