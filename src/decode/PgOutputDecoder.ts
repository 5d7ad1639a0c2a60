/**
 * Decodes one pgoutput message (the payload of an XLogData message, after its 25-byte header). Stateful only in
 * `inStream`: inside a v2 stream (Stream Start .. Stream Stop) data messages carry the streamed transaction's xid.
 */
import { Either } from "effect"
import type { Tuple } from "../domain/Change.js"
import type { Column, Relation, ReplicaIdentity } from "../domain/Relation.js"
import { BufferReader } from "./BufferReader.js"
import { RawArena, readTuple, skipTuple, tupleAt } from "./RawTuple.js"
import { DecodeError, type Insert, type PgOutputMessage, type StreamXid, type Update } from "./PgOutputMessage.js"

export * from "./PgOutputMessage.js"

const ch = (s: string): number => s.charCodeAt(0)
const TAG_BEGIN = ch("B")
const TAG_COMMIT = ch("C")
const TAG_RELATION = ch("R")
const TAG_INSERT = ch("I")
const TAG_UPDATE = ch("U")
const TAG_DELETE = ch("D")
const TAG_TRUNCATE = ch("T")
const TAG_TYPE = ch("Y")
const TAG_ORIGIN = ch("O")
const TAG_MESSAGE = ch("M")
const TAG_STREAM_START = ch("S")
const TAG_STREAM_STOP = ch("E")
const TAG_STREAM_COMMIT = ch("c")
const TAG_STREAM_ABORT = ch("A")
const TAG_BEGIN_PREPARE = ch("b")
const TAG_PREPARE = ch("P")
const TAG_COMMIT_PREPARED = ch("K")
const TAG_ROLLBACK_PREPARED = ch("r")
const TAG_STREAM_PREPARE = ch("p")
const KIND_NEW = ch("N")
const KIND_KEY = ch("K")
const KIND_OLD = ch("O")
const IDENTITY_DEFAULT = ch("d")
const IDENTITY_NOTHING = ch("n")
const IDENTITY_FULL = ch("f")
const IDENTITY_INDEX = ch("i")

const readReplicaIdentity = (r: BufferReader): ReplicaIdentity => {
  const b = r.u8()
  if (b === IDENTITY_DEFAULT) return "d"
  if (b === IDENTITY_NOTHING) return "n"
  if (b === IDENTITY_FULL) return "f"
  if (b === IDENTITY_INDEX) return "i"
  return r.fail(`unknown replica identity 0x${b.toString(16)}`, r.pos - 1)
}

const readRelation = (r: BufferReader): Relation => {
  const oid = r.u32()
  const schema = r.cstring()
  const name = r.cstring()
  const replicaIdentity = readReplicaIdentity(r)
  const n = r.u16()
  if (n * 10 > r.remaining()) r.fail(`relation of ${n} columns in ${r.remaining()} bytes`, r.pos - 2)
  const columns = new Array<Column>(n)
  for (let i = 0; i < n; i++) {
    const flags = r.u8()
    const colName = r.cstring()
    const typeOid = r.u32()
    const typeMod = r.i32()
    columns[i] = { name: colName, typeOid, typeMod, isKey: (flags & 1) !== 0 }
  }
  return { oid, schema, name, replicaIdentity, columns }
}

const readUpdate = (r: BufferReader, xid: StreamXid): Update => {
  const relationOid = r.u32()
  let kind = r.u8()
  let oldKind: "K" | "O" | null = null
  let oldTuple: Tuple | null = null
  if (kind === KIND_KEY || kind === KIND_OLD) {
    oldKind = kind === KIND_KEY ? "K" : "O"
    oldTuple = readTuple(r)
    kind = r.u8()
  }
  if (kind !== KIND_NEW) r.fail(`expected 'N' new tuple, got 0x${kind.toString(16)}`, r.pos - 1)
  return { _tag: "Update", xid, relationOid, oldKind, oldTuple, newTuple: readTuple(r) }
}

const readTruncateOids = (r: BufferReader, n: number): Array<number> => {
  if (n * 4 !== r.remaining()) r.fail(`truncate of ${n} relations in ${r.remaining()} bytes`)
  const oids = new Array<number>(n)
  for (let i = 0; i < n; i++) oids[i] = r.u32()
  return oids
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

const readInsert = (r: BufferReader, xid: StreamXid, arenas: Arenas): Insert => {
  const relationOid = r.u32()
  const arena = arenas.of?.(relationOid) ?? arenas.own
  const kind = r.u8()
  if (kind !== KIND_NEW) r.fail(`expected 'N' new tuple, got 0x${kind.toString(16)}`, r.pos - 1)
  const from = r.pos
  const plain = skipTuple(r)
  const at = arena.put(r.buf, from, r.pos)
  return new InsertMessage(xid, relationOid, arena.buf, at, at + r.pos - from, plain, arena)
}

const decodeTagged = (r: BufferReader, tag: number, xid: StreamXid, arenas: Arenas): PgOutputMessage => {
  switch (tag) {
    case TAG_BEGIN:
      return { _tag: "Begin", finalLsn: r.u64(), commitTimeUs: r.timestampUs(), xid: r.u32() }
    case TAG_COMMIT:
      return { _tag: "Commit", flags: r.u8(), commitLsn: r.u64(), endLsn: r.u64(), commitTimeUs: r.timestampUs() }
    case TAG_RELATION:
      return { _tag: "Relation", xid, relation: readRelation(r) }
    case TAG_INSERT:
      return readInsert(r, xid, arenas)
    case TAG_UPDATE:
      return readUpdate(r, xid)
    case TAG_DELETE: {
      const relationOid = r.u32()
      const kind = r.u8()
      if (kind !== KIND_KEY && kind !== KIND_OLD) {
        r.fail(`expected 'K' or 'O' old tuple, got 0x${kind.toString(16)}`, r.pos - 1)
      }
      return { _tag: "Delete", xid, relationOid, oldKind: kind === KIND_KEY ? "K" : "O", oldTuple: readTuple(r) }
    }
    case TAG_TRUNCATE: {
      const n = r.u32()
      const options = r.u8()
      const relationOids = readTruncateOids(r, n)
      return { _tag: "Truncate", xid, cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0, relationOids }
    }
    case TAG_TYPE:
      return { _tag: "Type", xid, typeOid: r.u32(), schema: r.cstring(), name: r.cstring() }
    case TAG_ORIGIN:
      return { _tag: "Origin", commitLsn: r.u64(), name: r.cstring() }
    case TAG_MESSAGE: {
      const transactional = (r.u8() & 1) !== 0
      const lsn = r.u64()
      const prefix = r.cstring()
      return { _tag: "Message", xid, transactional, lsn, prefix, content: r.bytes(r.i32()) }
    }
    case TAG_STREAM_START:
      return { _tag: "StreamStart", xid: r.u32(), firstSegment: r.u8() === 1 }
    case TAG_STREAM_STOP:
      return { _tag: "StreamStop" }
    case TAG_STREAM_COMMIT:
      return {
        _tag: "StreamCommit",
        xid: r.u32(),
        flags: r.u8(),
        commitLsn: r.u64(),
        endLsn: r.u64(),
        commitTimeUs: r.timestampUs()
      }
    case TAG_STREAM_ABORT: {
      const abortXid = r.u32()
      const subXid = r.u32()
      const parallel = r.remaining() > 0
      return {
        _tag: "StreamAbort",
        xid: abortXid,
        subXid,
        abortLsn: parallel ? r.u64() : null,
        abortTimeUs: parallel ? r.timestampUs() : null
      }
    }
    case TAG_BEGIN_PREPARE:
    case TAG_PREPARE:
    case TAG_COMMIT_PREPARED:
    case TAG_ROLLBACK_PREPARED:
    case TAG_STREAM_PREPARE:
      r.pos = r.end
      return { _tag: "Unsupported", tag: String.fromCharCode(tag) }
    default:
      return r.fail("unknown message tag", r.start)
  }
}

/** tags whose messages carry the streamed transaction's xid inside a stream */
const carriesStreamXid = (tag: number): boolean =>
  tag === TAG_INSERT ||
  tag === TAG_UPDATE ||
  tag === TAG_DELETE ||
  tag === TAG_RELATION ||
  tag === TAG_TRUNCATE ||
  tag === TAG_TYPE ||
  tag === TAG_MESSAGE

const ARENA_SLAB = 256 << 10

/**
 * where an insert's new row is copied to, by relation oid: the arena of the table writer it will be routed
 * to, when the caller knows it (saving the dispatcher a second copy); undefined for the decoder's own arena
 */
export type ArenaOf = (relationOid: number) => RawArena | undefined

interface Arenas {
  readonly own: RawArena
  readonly of: ArenaOf | undefined
}

export class PgOutputDecoder {
  /** true between Stream Start and Stream Stop */
  inStream = false
  private readonly reader = new BufferReader()
  /** holds the new rows of inserts whose relation has no arena of its own yet (see ArenaOf) until they are dispatched */
  private readonly arenas: Arenas

  constructor(arenaOf?: ArenaOf) {
    this.arenas = { own: new RawArena(ARENA_SLAB), of: arenaOf }
  }

  /** decodes buf[start, end); throws DecodeError on a malformed message */
  decode(buf: Buffer, start = 0, end = buf.length): PgOutputMessage {
    const r = this.reader
    r.reset(buf, start, end)
    try {
      const tag = r.u8()
      r.tag = tag
      const xid = this.inStream && carriesStreamXid(tag) ? r.u32() : null
      const msg = decodeTagged(r, tag, xid, this.arenas)
      r.done()
      if (tag === TAG_STREAM_START) this.inStream = true
      else if (tag === TAG_STREAM_STOP) this.inStream = false
      return msg
    } finally {
      r.clear()
    }
  }

  decodeEither(buf: Buffer, start = 0, end = buf.length): Either.Either<PgOutputMessage, DecodeError> {
    try {
      return Either.right(this.decode(buf, start, end))
    } catch (e) {
      if (e instanceof DecodeError) return Either.left(e)
      throw e
    }
  }

  /** forgets stream state, e.g. when replication restarts */
  reset(): void {
    this.inStream = false
  }
}
