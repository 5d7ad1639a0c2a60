/**
 * A source's slot is missing: a first start, or a lost slot. Lost means the destination holds tables synced
 * from it (walferry.sync_tables, state done): the source failed over to a standby that did not carry the
 * slot (Postgres 13–16, or 17+ without a synchronised failover slot), or someone dropped it. Changes between
 * its last confirmed position and the failover may be gone, so it is never recreated silently:
 * `slots.on_lost: stop` (default) fails with SlotLost naming the slot and the tables, and the reader stops
 * that source only; `resync` logs the same facts and lets the slot be created again, which copies every
 * table of the source anew from its snapshot (positions reset). An unreadable destination is SlotLossUnknown,
 * retried like any transient failure, never taken for a first start.
 */
import { Effect, Redacted } from "effect"
import pg from "pg"
import type { OnLostSlot, SourceGroup, SourceUrl } from "../../config/Config.js"
import { connectConfig } from "../../lib/ConnectConfig.js"
import { describeCause, SlotLossUnknown, SlotLost } from "../SourceErrors.js"
import { resolvePrefer } from "../../lib/SslMode.js"

/** destination tables whose copy from `source` finished; an absent sync store means none */
const syncedTables = (destination: Redacted.Redacted<string>, source: string) =>
  Effect.tryPromise(async () => {
    const client = new pg.Client(
      connectConfig({
        connectionString: await resolvePrefer(Redacted.value(destination)),
        application_name: "walferry"
      })
    )
    client.on("error", () => undefined)
    try {
      await client.connect()
      const [store] = (
        await client.query<{ ok: boolean }>("select to_regclass('walferry.sync_tables') is not null as ok")
      ).rows
      if (store?.ok !== true) return []
      const { rows } = await client.query<{ target: string }>(
        "select target from walferry.sync_tables where source = $1 and state = 'done' order by 1",
        [source]
      )
      return rows.map((r) => r.target)
    } finally {
      await client.end().catch(() => undefined)
    }
  })

/** runs when the slot does not exist, before it is created: fails with SlotLost when it was lost and onLost is stop */
export const lostSlotCheck = (
  destination: Redacted.Redacted<string>,
  group: SourceGroup,
  url: SourceUrl,
  slot: string,
  source: string,
  onLost: OnLostSlot
) =>
  Effect.gen(function* () {
    const ref = { database: group.database, sid: url.sid, slot }
    const tables = yield* syncedTables(destination, source).pipe(
      Effect.mapError((e) => new SlotLossUnknown({ ...ref, reason: describeCause(e.error) }))
    )
    if (tables.length === 0) return
    const lost = new SlotLost({ ...ref, tables, source })
    if (onLost === "stop") return yield* lost
    yield* Effect.logWarning(
      `replication slot "${slot}" was lost (tables ${tables.join(", ")} were synced from it); slots.on_lost: ` +
        `resync: creating it again and copying every table of this source anew`
    )
  })
