/** The messages of the pgoutput logical replication protocol (v1, plus v2 streaming), as decoded by PgOutputDecoder. */
import { Data } from "effect"
import type { Tuple } from "../domain/Change.js"
import type { Lsn } from "../domain/Lsn.js"
import type { RawArena } from "./RawTuple.js"
import type { Relation } from "../domain/Relation.js"

/** `xid` on data messages is the streamed transaction's xid inside a stream (S..E), null otherwise */
export type StreamXid = number | null

export interface Begin {
  readonly _tag: "Begin"
  readonly finalLsn: Lsn
  /** microseconds since the Unix epoch */
  readonly commitTimeUs: bigint
  readonly xid: number
}

export interface Commit {
  readonly _tag: "Commit"
  readonly flags: number
  readonly commitLsn: Lsn
  readonly endLsn: Lsn
  readonly commitTimeUs: bigint
}

export interface RelationMessage {
  readonly _tag: "Relation"
  readonly xid: StreamXid
  readonly relation: Relation
}

export interface Insert {
  readonly _tag: "Insert"
  readonly xid: StreamXid
  readonly relationOid: number
  /** the new row's values, decoded from `buf` when first read */
  readonly newTuple: Tuple
  /** the new row's TupleData: bytes [start, end) of buf, a copy in `arena` */
  readonly buf: Buffer
  /** the decoder's own arena, or the one its ArenaOf named for the relation */
  readonly arena: RawArena
  readonly start: number
  readonly end: number
  /** every value is text or NULL (no unchanged TOAST) */
  readonly plain: boolean
}

/**
 * Where an update's or delete's tuples sit as bytes, in `arena`: the old tuple at [oldStart, newStart - 1)
 * (oldStart -1: none), the new one at [newStart, end) (newStart -1: none); decoded when first read
 */
export interface RawRowBytes {
  readonly buf: Buffer
  readonly arena: RawArena
  readonly oldStart: number
  readonly newStart: number
  readonly end: number
  /** the new tuple has no unchanged-TOAST value */
  readonly plain: boolean
}

export interface Update extends RawRowBytes {
  readonly _tag: "Update"
  readonly xid: StreamXid
  readonly relationOid: number
  /** "K": old key columns (key changed, identity default/index), "O": full old row (identity full), null: none sent */
  readonly oldKind: "K" | "O" | null
  readonly oldTuple: Tuple | null
  readonly newTuple: Tuple
}

export interface Delete extends RawRowBytes {
  readonly _tag: "Delete"
  readonly xid: StreamXid
  readonly relationOid: number
  readonly oldKind: "K" | "O"
  readonly oldTuple: Tuple
}

export interface Truncate {
  readonly _tag: "Truncate"
  readonly xid: StreamXid
  readonly cascade: boolean
  readonly restartIdentity: boolean
  readonly relationOids: ReadonlyArray<number>
}

export interface TypeMessage {
  readonly _tag: "Type"
  readonly xid: StreamXid
  readonly typeOid: number
  readonly schema: string
  readonly name: string
}

export interface Origin {
  readonly _tag: "Origin"
  readonly commitLsn: Lsn
  readonly name: string
}

export interface LogicalMessage {
  readonly _tag: "Message"
  readonly xid: StreamXid
  readonly transactional: boolean
  readonly lsn: Lsn
  readonly prefix: string
  /** a copy: does not alias the decoded input buffer */
  readonly content: Buffer
}

export interface StreamStart {
  readonly _tag: "StreamStart"
  readonly xid: number
  readonly firstSegment: boolean
}

export interface StreamStop {
  readonly _tag: "StreamStop"
}

export interface StreamCommit {
  readonly _tag: "StreamCommit"
  readonly xid: number
  readonly flags: number
  readonly commitLsn: Lsn
  readonly endLsn: Lsn
  readonly commitTimeUs: bigint
}

export interface StreamAbort {
  readonly _tag: "StreamAbort"
  readonly xid: number
  readonly subXid: number
  /** only sent by protocol v4 with parallel streaming */
  readonly abortLsn: Lsn | null
  readonly abortTimeUs: bigint | null
}

/** two-phase commit and stream prepare messages (b, P, K, r, p): recognised, not decoded */
export interface Unsupported {
  readonly _tag: "Unsupported"
  readonly tag: string
}

export type PgOutputMessage =
  | Begin
  | Commit
  | RelationMessage
  | Insert
  | Update
  | Delete
  | Truncate
  | TypeMessage
  | Origin
  | LogicalMessage
  | StreamStart
  | StreamStop
  | StreamCommit
  | StreamAbort
  | Unsupported

/** a malformed message: `tag` is its first byte (-1 if empty), `offset` where decoding failed, from message start */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly tag: number
  readonly offset: number
  readonly message: string
}> {}
