/**
 * Typed failures of source preparation (wal level, publication, replication slot). Every error names the
 * database group and sid it concerns; none carries a connection URL, so no password can leak into a log.
 */
import { Data } from "effect"

/** which source an error is about: the database group and the URL's sid */
export interface SourceRef {
  readonly database: string
  readonly sid: string
}

const where = (ref: SourceRef) => (ref.sid === "" ? `source ${ref.database}` : `source ${ref.database}/${ref.sid}`)

export const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return typeof code === "string" && code !== "" ? `${cause.message} (${code})` : cause.message
  }
  return String(cause)
}

export class SourceUnreachable extends Data.TaggedError("SourceUnreachable")<{
  readonly database: string
  readonly sid: string
  /** host:port/dbname of the URL, without user or password */
  readonly target: string
  readonly reason: string
}> {
  override get message() {
    return `${where(this)} (${this.target}) is unreachable: ${this.reason}`
  }
}

export class WalLevelNotLogical extends Data.TaggedError("WalLevelNotLogical")<{
  readonly database: string
  readonly sid: string
  readonly walLevel: string
}> {
  override get message() {
    return (
      `${where(this)} runs with wal_level=${this.walLevel}; logical replication needs wal_level=logical ` +
      `(set it in postgresql.conf or with ALTER SYSTEM SET wal_level = logical, then restart Postgres)`
    )
  }
}

export class SourceTableMissing extends Data.TaggedError("SourceTableMissing")<{
  readonly database: string
  readonly sid: string
  /** schema.name as mapped */
  readonly table: string
  readonly reason: string
}> {
  override get message() {
    return `${where(this)}: mapped table ${this.table} ${this.reason}; create it or remove it from the mapping`
  }
}

export class OriginFilterUnsupported extends Data.TaggedError("OriginFilterUnsupported")<{
  readonly database: string
  readonly sid: string
  readonly version: number
}> {
  override get message() {
    return (
      `${where(this)}: source_origin: none needs PostgreSQL 16 or newer on the source (it runs ` +
      `${Math.floor(this.version / 10000)}); remove it, or changes applied on this source by replication would stream back`
    )
  }
}

export class PublicationError extends Data.TaggedError("PublicationError")<{
  readonly database: string
  readonly sid: string
  readonly publication: string
  readonly reason: string
}> {
  override get message() {
    return `${where(this)}: publication "${this.publication}" could not be prepared: ${this.reason}`
  }
}

export class SlotInUse extends Data.TaggedError("SlotInUse")<{
  readonly database: string
  readonly sid: string
  readonly slot: string
  readonly activePid: number | undefined
}> {
  override get message() {
    const pid = this.activePid === undefined ? "another process" : `backend pid ${this.activePid}`
    return (
      `${where(this)}: replication slot "${this.slot}" is in use by ${pid}; stop the other consumer ` +
      `(another walferry instance?) or terminate it with select pg_terminate_backend(${this.activePid ?? "<pid>"})`
    )
  }
}

export class SlotInvalid extends Data.TaggedError("SlotInvalid")<{
  readonly database: string
  readonly sid: string
  readonly slot: string
  readonly reason: string
}> {
  override get message() {
    return (
      `${where(this)}: replication slot "${this.slot}" cannot be used: ${this.reason}; drop it with ` +
      `select pg_drop_replication_slot('${this.slot}') and restart (every table is then copied again)`
    )
  }
}

export class SlotCreateFailed extends Data.TaggedError("SlotCreateFailed")<{
  readonly database: string
  readonly sid: string
  readonly slot: string
  readonly reason: string
}> {
  override get message() {
    return (
      `${where(this)}: replication slot "${this.slot}" could not be created: ${this.reason} ` +
      `(the role needs REPLICATION, pg_hba.conf a replication entry, max_replication_slots/max_wal_senders room)`
    )
  }
}

export class SlotLost extends Data.TaggedError("SlotLost")<{
  readonly database: string
  readonly sid: string
  readonly slot: string
  /** destination tables synced from the lost slot */
  readonly tables: ReadonlyArray<string>
  readonly source: string
}> {
  override get message() {
    return (
      `${where(this)}: replication slot "${this.slot}" is gone, but tables ${this.tables.join(", ")} were synced ` +
      `from it (the source failed over to a standby that did not carry the slot: Postgres < 17, or no failover ` +
      `slot/sync_replication_slots; or the slot was dropped). Changes between its last confirmed position and the ` +
      `failover may be lost: these tables need a resync. This source is stopped (the others go on). To copy its ` +
      `tables again from a new slot set slots.on_lost: resync, or run on the destination ` +
      `delete from walferry.sync_tables where source = '${this.source}'; and restart walferry`
    )
  }
}

/** whether a missing slot was lost could not be decided: the destination's sync state was unreadable */
export class SlotLossUnknown extends Data.TaggedError("SlotLossUnknown")<{
  readonly database: string
  readonly sid: string
  readonly slot: string
  readonly reason: string
}> {
  override get message() {
    return (
      `${where(this)}: replication slot "${this.slot}" does not exist and the destination's walferry.sync_tables ` +
      `could not be read to tell a first start from a lost slot: ${this.reason}`
    )
  }
}

export type SourceError =
  | SlotLost
  | SlotLossUnknown
  | SourceUnreachable
  | WalLevelNotLogical
  | SourceTableMissing
  | PublicationError
  | SlotInUse
  | SlotInvalid
  | SlotCreateFailed
