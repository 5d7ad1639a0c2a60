/**
 * The row messages (Insert, Update, Delete) of pgoutput as PgOutputDecoder returns them: their tuples are
 * checked, copied as bytes into an arena and decoded only when read (see RawTuple), so a change that is
 * written as bytes (RawCopy) or folded away (BatchFold) never builds its values.
 */
import type { Tuple } from "../domain/Change.js"
import type { BufferReader } from "./BufferReader.js"
import type { Delete, Insert, StreamXid, Update } from "./PgOutputMessage.js"
import { skipTuple, tupleAt, type RawArena } from "./RawTuple.js"

const ch = (s: string): number => s.charCodeAt(0)
const KIND_NEW = ch("N")
const KIND_KEY = ch("K")
const KIND_OLD = ch("O")

/**
 * where an insert's new row is copied to, by relation oid: the arena of the table writer it will be routed
 * to, when the caller knows it (saving the dispatcher a second copy); undefined for the decoder's own arena
 */
export type ArenaOf = (relationOid: number) => RawArena | undefined

export interface Arenas {
  readonly own: RawArena
  readonly of: ArenaOf | undefined
}

/** an update or delete whose tuples stay bytes in an arena until read: [oldStart, newStart - 1) and [newStart, end) */
class RowMessage {
  private oldValues: Tuple | null | undefined = undefined
  private newValues: Tuple | null | undefined = undefined
  constructor(
    readonly _tag: "Update" | "Delete",
    readonly xid: StreamXid,
    readonly relationOid: number,
    readonly oldKind: "K" | "O" | null,
    readonly buf: Buffer,
    /** -1: no old tuple */
    readonly oldStart: number,
    /** -1: no new tuple (delete) */
    readonly newStart: number,
    readonly end: number,
    /** the new tuple has no unchanged-TOAST value */
    readonly plain: boolean,
    readonly arena: RawArena
  ) {}

  get oldTuple(): Tuple | null {
    if (this.oldStart < 0) return null
    return (this.oldValues ??= tupleAt(this.buf, this.oldStart, this.newStart < 0 ? this.end : this.newStart - 1))
  }

  get newTuple(): Tuple | null {
    if (this.newStart < 0) return null
    return (this.newValues ??= tupleAt(this.buf, this.newStart, this.end))
  }
}

export const readUpdate = (r: BufferReader, xid: StreamXid, arenas: Arenas): Update => {
  const relationOid = r.u32()
  const from = r.pos
  let kind = r.u8()
  let oldKind: "K" | "O" | null = null
  let oldAt = -1
  if (kind === KIND_KEY || kind === KIND_OLD) {
    oldKind = kind === KIND_KEY ? "K" : "O"
    oldAt = r.pos
    skipTuple(r)
    kind = r.u8()
  }
  if (kind !== KIND_NEW) r.fail(`expected 'N' new tuple, got 0x${kind.toString(16)}`, r.pos - 1)
  const newAt = r.pos
  const plain = skipTuple(r)
  const arena = arenas.of?.(relationOid) ?? arenas.own
  const at = arena.put(r.buf, from, r.pos) - from
  const oldStart = oldAt < 0 ? -1 : oldAt + at
  return new RowMessage(
    "Update",
    xid,
    relationOid,
    oldKind,
    arena.buf,
    oldStart,
    newAt + at,
    r.pos + at,
    plain,
    arena
  ) as Update
}

export const readDelete = (r: BufferReader, xid: StreamXid, arenas: Arenas): Delete => {
  const relationOid = r.u32()
  const kind = r.u8()
  if (kind !== KIND_KEY && kind !== KIND_OLD) {
    r.fail(`expected 'K' or 'O' old tuple, got 0x${kind.toString(16)}`, r.pos - 1)
  }
  const from = r.pos
  skipTuple(r)
  const arena = arenas.of?.(relationOid) ?? arenas.own
  const at = arena.put(r.buf, from, r.pos) - from
  const oldKind = kind === KIND_KEY ? "K" : "O"
  return new RowMessage(
    "Delete",
    xid,
    relationOid,
    oldKind,
    arena.buf,
    from + at,
    -1,
    r.pos + at,
    false,
    arena
  ) as Delete
}

class InsertMessage implements Insert {
  readonly _tag = "Insert"
  private values: Tuple | undefined = undefined
  constructor(
    readonly xid: StreamXid,
    readonly relationOid: number,
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number,
    readonly plain: boolean,
    readonly arena: RawArena
  ) {}

  get newTuple(): Tuple {
    return (this.values ??= tupleAt(this.buf, this.start, this.end))
  }
}

export const readInsert = (r: BufferReader, xid: StreamXid, arenas: Arenas): Insert => {
  const relationOid = r.u32()
  const arena = arenas.of?.(relationOid) ?? arenas.own
  const kind = r.u8()
  if (kind !== KIND_NEW) r.fail(`expected 'N' new tuple, got 0x${kind.toString(16)}`, r.pos - 1)
  const from = r.pos
  const plain = skipTuple(r)
  const at = arena.put(r.buf, from, r.pos)
  return new InsertMessage(xid, relationOid, arena.buf, at, at + r.pos - from, plain, arena)
}
