/**
 * Decodes one pgoutput message (the payload of an XLogData message, after its 25-byte header). Stateful only in
 * `inStream`: inside a v2 stream (Stream Start .. Stream Stop) data messages carry the streamed transaction's xid.
 */
import { Either } from "effect"
import type { Column, Relation, ReplicaIdentity } from "../domain/Relation.js"
import { BufferReader } from "./BufferReader.js"
import { RawArena } from "./RawTuple.js"
import { DecodeError, type PgOutputMessage, type StreamXid } from "./PgOutputMessage.js"
import { readDelete, readInsert, readUpdate, type ArenaOf, type Arenas } from "./RowMessages.js"

export * from "./PgOutputMessage.js"
export type { ArenaOf } from "./RowMessages.js"

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

const readTruncateOids = (r: BufferReader, n: number): Array<number> => {
  if (n * 4 !== r.remaining()) r.fail(`truncate of ${n} relations in ${r.remaining()} bytes`)
  const oids = new Array<number>(n)
  for (let i = 0; i < n; i++) oids[i] = r.u32()
  return oids
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
      return readUpdate(r, xid, arenas)
    case TAG_DELETE:
      return readDelete(r, xid, arenas)
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
