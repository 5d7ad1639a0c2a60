/**
 * Start-up of one source URL: wal level, replication slot and publication, as a state machine that never
 * loses changes silently.
 *
 * - slot present: it must be a pgoutput slot of this database, not invalidated, not in use — else
 *   SlotInvalid / SlotInUse, before anything is changed.
 * - publication: created or repaired by `syncPublication` (tables added/removed, options).
 * - slot missing: created with an exported snapshot; every mapped table needs an initial copy from it.
 * - slot present but publication missing: the slot is dropped and created again. Keeping it is unsafe:
 *   changes committed while the publication did not exist make pgoutput fail with "publication does not
 *   exist" on 13–17 (every restart, forever) and are skipped silently on 18.
 */
import { Effect, type Redacted, type Scope } from "effect"
import type pg from "pg"
import type { FailoverSlots, TableMapping } from "../../config/Config.js"
import { publicationName, slotName } from "../Naming.js"
import {
  PUBLICATION_CURRENT,
  syncPublication,
  unchangedPublication,
  type PublicationSync
} from "./PublicationManager.js"
import { query } from "../../lib/Sql.js"
import { clientConfig, connect, connectionLost } from "../SourceClient.js"
import {
  describeCause,
  SlotInUse,
  SlotInvalid,
  WalLevelNotLogical,
  type SourceError,
  type SourceRef
} from "../SourceErrors.js"
import { slotWithSnapshot, type SlotSnapshot } from "./SlotSnapshot.js"
import { slotStatus, type SlotStatus } from "./SlotStatus.js"

export interface SourceSetupOptions {
  /** database group name (config `sources[].database`) */
  readonly database: string
  readonly sid: string
  readonly url: Redacted.Redacted<string>
  /** `naming.prefix` */
  readonly prefix: string
  readonly tables: ReadonlyArray<TableMapping>
  readonly applicationName?: string
  /** `slots.failover`: create the slot as a failover slot (17+) */
  readonly failover?: FailoverSlots
  /**
   * called when the slot does not exist, before it is created: may fail (e.g. SlotLost when the destination
   * shows that tables were synced from a slot that is gone)
   */
  readonly onMissingSlot?: Effect.Effect<void, SourceError>
}

export interface SlotSetup {
  readonly name: string
  /** the slot was created now: every mapped table needs an initial copy, read through `snapshot` */
  readonly created: boolean
  /** why an existing slot was dropped before `created`, undefined otherwise */
  readonly replacedBecause: string | undefined
  /** held until the scope of `prepareSource` closes; present exactly when `created` */
  readonly snapshot: SlotSnapshot | undefined
}

export interface SourceSetup {
  readonly slot: SlotSetup
  readonly publication: PublicationSync
  /** tables needing an initial copy: all mapped ones when the slot was created, else the newly published */
  readonly needsCopy: ReadonlyArray<TableMapping>
}

/** SlotInvalid/SlotInUse for a slot that exists but cannot be streamed from */
export const checkSlot = (
  status: SlotStatus,
  slot: string,
  currentDatabase: string,
  ref: SourceRef
): Effect.Effect<void, SlotInvalid | SlotInUse> => {
  const invalid = (reason: string) => Effect.fail(new SlotInvalid({ ...ref, slot, reason }))
  if (!status.exists) return Effect.void
  if (status.slotType !== "logical") return invalid(`it is a ${status.slotType ?? "non-logical"} slot`)
  if (status.database !== currentDatabase) {
    return invalid(`it belongs to database "${status.database ?? ""}", not "${currentDatabase}" (name clash)`)
  }
  if (status.plugin !== "pgoutput") return invalid(`it uses output plugin "${status.plugin ?? ""}", not pgoutput`)
  if (status.walStatus === "lost") {
    return invalid("the WAL it needs was removed (wal_status = lost, max_slot_wal_keep_size exceeded)")
  }
  if (status.invalidationReason !== undefined) return invalid(`Postgres invalidated it (${status.invalidationReason})`)
  if (status.active) return Effect.fail(new SlotInUse({ ...ref, slot, activePid: status.activePid }))
  return Effect.void
}

const dropSlot = (client: pg.Client, slot: string, ref: SourceRef, activePid: number | undefined) =>
  query(client, "select pg_drop_replication_slot($1)", [slot]).pipe(
    Effect.mapError((e) =>
      e.code === "55006"
        ? new SlotInUse({ ...ref, slot, activePid })
        : new SlotInvalid({ ...ref, slot, reason: `dropping it failed: ${describeCause(e)}` })
    )
  )

/** wal_level, current database, and whether the publication exists and is current, in one read */
const startFacts = (client: pg.Client, publication: string, tables: ReadonlyArray<TableMapping>, ref: SourceRef) =>
  query<{ wal_level: string; db: string; pub_exists: boolean; pub_current: boolean }>(
    client,
    `select current_setting('wal_level') as wal_level, current_database() as db, p.oid is not null as pub_exists,
       coalesce(${PUBLICATION_CURRENT}, false) as pub_current
     from (select 1) as one left join pg_publication p on p.pubname = $1`,
    [publication, tables.map((t) => t.schema), tables.map((t) => t.name)]
  ).pipe(
    Effect.mapError(connectionLost(client, ref)),
    Effect.map((rows) => rows[0]!)
  )

/**
 * Prepares one source URL for streaming. When the slot is created, its exported snapshot stays importable
 * until the caller's scope closes: run the initial copy inside that scope.
 */
export const prepareSource = (options: SourceSetupOptions): Effect.Effect<SourceSetup, SourceError, Scope.Scope> =>
  Effect.gen(function* () {
    const ref: SourceRef = { database: options.database, sid: options.sid }
    const slot = slotName(options.prefix, options.database, options.sid)
    const publication = publicationName(options.prefix, options.database, options.sid)
    const config = clientConfig(options.url, options.applicationName)

    const { keep, pub, replacedBecause } = yield* Effect.scoped(
      Effect.gen(function* () {
        const client = yield* connect(config, ref)
        const facts = yield* startFacts(client, publication, options.tables, ref)
        if (facts.wal_level !== "logical") {
          return yield* new WalLevelNotLogical({ database: ref.database, sid: ref.sid, walLevel: facts.wal_level })
        }
        const status = yield* slotStatus(client, slot, ref)
        yield* checkSlot(status, slot, facts.db, ref)
        const hadPublication = facts.pub_exists
        const pub = facts.pub_current
          ? unchangedPublication(publication)
          : yield* syncPublication(client, publication, options.tables, ref)
        if (!status.exists || hadPublication) return { keep: status.exists, pub, replacedBecause: undefined }
        const replacedBecause = `publication ${publication} was missing`
        yield* Effect.logWarning(`dropping replication slot ${slot}: ${replacedBecause}; every table is copied again`)
        yield* dropSlot(client, slot, ref, status.activePid)
        return { keep: false, pub, replacedBecause }
      })
    )
    if (keep) {
      return {
        slot: { name: slot, created: false, replacedBecause: undefined, snapshot: undefined },
        publication: pub,
        needsCopy: pub.added
      }
    }
    if (replacedBecause === undefined && options.onMissingSlot) yield* options.onMissingSlot
    const snapshot = yield* slotWithSnapshot(config, slot, ref, options.failover ?? "auto")
    return {
      slot: { name: slot, created: true, replacedBecause, snapshot },
      publication: pub,
      needsCopy: options.tables
    }
  })
