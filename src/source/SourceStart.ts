/**
 * Start-up preparation of one source URL, before its stream is opened: the current primary, the CEL
 * expressions and origin filter checked against the source, DDL capture mode, slot and publication, the
 * destination's sync state, and the initial copy when the slot is new. Independent checks run together.
 * Nothing here reads the stream; a failure leaves the slot's confirmed position untouched.
 */
import { Effect } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { SourceGroup, SourceUrl } from "../config/Config.js"
import { applyCaptureMode, captureTables } from "../ddl/DdlCapture.js"
import { liveTables } from "../mapping/Wildcards.js"
import { checkExpressions } from "../route/ExpressionCheck.js"
import { loadSyncState, startInitialSync } from "../sync/InitialCopy.js"
import { timed } from "../telemetry/StartupTiming.js"
import { lostSlotCheck } from "./slot/LostSlot.js"
import { slotName } from "./Naming.js"
import { originNone } from "./OriginFilter.js"
import { prepareSource } from "./slot/SlotManager.js"
import { clientConfig, connect } from "./SourceClient.js"
import { resolvePrimary } from "./SourceHosts.js"

/** checks the group's CEL expressions against this source's catalog; the NOT NULL columns of their tables */
const expressionColumns = (group: SourceGroup, url: SourceUrl) =>
  group.tables.some((t) => t.expressions !== undefined)
    ? Effect.scoped(
        Effect.gen(function* () {
          const ref = { database: group.database, sid: url.sid }
          const client = yield* connect(clientConfig(url.url, `walferry_${group.database}`), ref)
          return yield* checkExpressions(client, group)
        })
      )
    : Effect.succeed(new Map<string, ReadonlySet<string>>())

/** everything the source needs before its stream is opened; `source` is the engine's key of it */
export const startSource = (group: SourceGroup, configured: SourceUrl, source: string) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    // a URL naming several hosts: the one that is primary now (it changes after a failover)
    const url: SourceUrl = {
      ...configured,
      url: yield* resolvePrimary(configured.url, { database: group.database, sid: configured.sid }, true).pipe(
        timed("primary resolved")
      )
    }
    const ref = { database: group.database, sid: url.sid }
    const captureMode =
      (group.ddl ?? "off") === "off"
        ? Effect.void
        : Effect.scoped(
            Effect.flatMap(connect(clientConfig(url.url, `walferry_${group.database}`), ref), (client) =>
              applyCaptureMode(client, group.ddl ?? "off", ref)
            )
          ).pipe(timed("ddl capture mode"))
    const slotAndPublication = prepareSource({
      database: group.database,
      sid: url.sid,
      url: url.url,
      prefix: config.naming.prefix,
      tables: captureTables(liveTables(group.tables, url.sid), group.ddl),
      applicationName: `walferry_${group.database}`,
      failover: config.slots?.failover ?? "auto",
      onMissingSlot: lostSlotCheck(
        config.destination.url,
        group,
        url,
        slotName(config.naming.prefix, group.database, url.sid),
        source,
        config.slots?.onLost ?? "stop"
      )
    }).pipe(timed("slot and publication checked"))
    const live = { ...group, tables: liveTables(group.tables, url.sid) }
    // independent checks run together: source catalog (expressions, origin filter, slot, publication), the
    // destination's sync state
    const { notNull, filterOrigin, setup, state } = yield* Effect.all(
      {
        notNull: expressionColumns(group, url).pipe(timed("expressions checked")),
        filterOrigin: originNone(group, url, config.sourceOrigin === "none").pipe(timed("origin filter checked")),
        setup: Effect.zipRight(captureMode, slotAndPublication),
        state: loadSyncState(config, live, source).pipe(timed("sync state read"))
      },
      { concurrency: "unbounded" }
    )
    const sync = yield* startInitialSync({ group: live, url, source, setup, state }).pipe(
      timed("initial sync prepared")
    )
    if (setup.slot.snapshot) yield* setup.slot.snapshot.release
    return { url, notNull, filterOrigin, setup, sync }
  })
