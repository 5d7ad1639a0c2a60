/**
 * Turns decoded pgoutput messages of one source into row changes and hands them to table writers.
 *
 * Ordering: messages are processed strictly in server order; every change is tagged with its
 * transaction's commit LSN and ordinal. Backpressure: when a writer's mailbox is full the dispatcher
 * suspends, the replication inbox fills up and the socket is paused. Bookkeeping: each dispatched
 * change is counted in the source's LsnTracker before the writer can see it. Online initial sync: with
 * `windows`, watermark rows are handed to it and a table's changes inside a watermark window are held
 * there and delivered (in stream order, uncounted a second time) when the window closes. Tables with CEL
 * expressions take the decoded path through their RowTransform; a change it rejects is not dispatched.
 */
import { Data } from "effect"
import type { LsnTracker } from "../ack/LsnTracker.js"
import { DELETE, INSERT, UPDATE, type Change, type Queued, type SourceTx, type Tuple } from "../domain/Change.js"
import { isEventsRelation, routeDdl } from "../ddl/DdlEvents.js"
import type { DdlEvent } from "../domain/DdlEvent.js"
import type { Lsn } from "../domain/Lsn.js"
import type { Relation } from "../domain/Relation.js"
import { RawInsert, RawTx } from "../domain/RawInsert.js"
import { RawRow } from "../domain/RawRow.js"
import type { PgOutputMessage, RawRowBytes } from "../decode/PgOutputMessage.js"
import { RelationCache } from "../decode/RelationCache.js"
import type { RawArena } from "../decode/RawTuple.js"
import type { Router } from "../route/Router.js"
import { ExpressionInvalid } from "../route/RowExpressions.js"
import type { WatermarkWindows } from "../sync/watermark/WatermarkWindows.js"
import type { SourceTxTracer } from "../telemetry/SourceTxTracer.js"
import type { TableWriter } from "../writers/TableWriter.js"

export class ProtocolViolation extends Data.TaggedError("ProtocolViolation")<{
  readonly source: string
  readonly detail: string
}> {
  override get message() {
    return `source ${this.source}: ${this.detail}`
  }
}

export class ChangeDispatcher {
  readonly relations = new RelationCache()
  /** changes refused by a full mailbox during the last `handle`, to be offered with suspension */
  readonly blocked: Array<{ writer: TableWriter; change: Queued }> = []
  private lsn: Lsn = 0n
  private commitTimeUs = 0n
  private seq = 0
  /** the trace of the transaction in progress (only with `txTracer`, i.e. while traces are exported) */
  private tx: SourceTx | undefined = undefined
  /** what the raw inserts of the transaction in progress share, made at the first one */
  private rawTx: RawTx | undefined = undefined

  constructor(
    readonly source: string,
    readonly sid: string,
    private readonly router: Router,
    private readonly tracker: LsnTracker,
    private readonly windows?: WatermarkWindows,
    private readonly txTracer?: SourceTxTracer,
    /** relation oid → the arena of the writer its inserts went to last: the decoder copies there directly */
    private readonly arenas?: Map<number, RawArena>,
    /** DDL capture is on: rows of walferry.ddl_events become ordered DdlChanges for their table's writer */
    private readonly captureDdl = false,
    /** a captured DDL of a table nothing maps (a CREATE TABLE a wildcard key may match) */
    private readonly onUnmappedDdl?: (event: DdlEvent) => void
  ) {
    windows?.bind(this.blocked)
  }

  /** handles one message; changes refused by a full mailbox are left in `blocked` */
  handle(msg: PgOutputMessage): ProtocolViolation | ExpressionInvalid | undefined {
    if (this.windows?.dirty) this.flushWindows()
    switch (msg._tag) {
      case "Begin":
        this.lsn = msg.finalLsn
        this.commitTimeUs = msg.commitTimeUs
        this.seq = 0
        this.rawTx = undefined
        this.tracker.begin(msg.finalLsn)
        this.windows?.begin(msg.xid)
        if (this.txTracer) this.tx = this.txTracer.begin(msg.xid, msg.finalLsn, msg.commitTimeUs)
        return undefined
      case "Commit":
        this.tracker.commit(msg.endLsn)
        if (this.txTracer) {
          this.txTracer.commit(this.tx, msg.endLsn, this.seq)
          this.tx = undefined
        }
        return undefined
      case "Relation":
        if (this.relations.set(msg.relation) !== "unchanged") {
          this.router.forget(msg.relation.oid)
          this.arenas?.delete(msg.relation.oid)
        }
        return undefined
      case "Insert":
      case "Update":
      case "Delete": {
        this.seq++
        const relation = this.relations.get(msg.relationOid)
        if (!relation) return this.violation(`change for unknown relation oid ${msg.relationOid}`)
        if (this.windows?.isMarker(relation)) {
          const row = msg._tag === "Insert" ? msg.newTuple : msg._tag === "Delete" ? msg.oldTuple : undefined
          const id = row?.[0]
          if (typeof id === "string") this.windows.marker(msg._tag === "Insert" ? "lw" : "hw", id, this.lsn)
          this.flushWindows()
          return undefined
        }
        const writer = this.router.route(relation)
        if (!writer) {
          if (this.captureDdl && msg._tag === "Insert" && isEventsRelation(relation)) this.ddlEvent(relation, msg)
          return undefined
        }
        const transform = this.router.hasExpressions ? this.router.transformOf(relation) : undefined
        if (msg._tag === "Insert" && msg.plain && transform === undefined) {
          const arena = writer.arena
          let buf = msg.buf
          let at = msg.start
          if (msg.arena !== arena) {
            at = arena.put(buf, at, msg.end)
            buf = arena.buf
            this.arenas?.set(relation.oid, arena)
          }
          const of = (this.rawTx ??= new RawTx(this.sid, this.source, this.lsn, this.commitTimeUs, this.tx))
          const raw = new RawInsert(of, relation, this.seq, buf, at, at + msg.end - msg.start)
          this.offer(writer, raw)
          return undefined
        }
        if (msg._tag !== "Insert" && transform === undefined) {
          const of = (this.rawTx ??= new RawTx(this.sid, this.source, this.lsn, this.commitTimeUs, this.tx))
          const op = msg._tag === "Update" ? UPDATE : DELETE
          this.offer(
            writer,
            new RawRow(of, relation, this.seq, op, msg.oldKind, this.inArena(msg, writer.arena, relation))
          )
          return undefined
        }
        const change: Change = {
          _tag: "Row",
          op: msg._tag === "Insert" ? INSERT : msg._tag === "Update" ? UPDATE : DELETE,
          sid: this.sid,
          source: this.source,
          relation,
          lsn: this.lsn,
          seq: this.seq,
          commitTimeUs: this.commitTimeUs,
          newTuple: msg._tag === "Delete" ? null : msg.newTuple,
          oldTuple: msg._tag === "Insert" ? null : msg.oldTuple,
          oldKind: msg._tag === "Insert" ? null : msg.oldKind,
          tx: this.tx
        }
        if (transform === undefined) {
          this.offer(writer, change)
          return undefined
        }
        try {
          const out = transform.apply(change)
          if (out !== null) this.offer(writer, out)
          return undefined
        } catch (e) {
          if (e instanceof ExpressionInvalid) return e
          throw e
        }
      }
      case "Truncate": {
        for (const oid of msg.relationOids) {
          this.seq++
          const relation = this.relations.get(oid)
          if (!relation) return this.violation(`truncate of unknown relation oid ${oid}`)
          const writer = this.router.route(relation)
          if (!writer) continue
          const change: Change = {
            _tag: "Truncate",
            sid: this.sid,
            source: this.source,
            relation,
            lsn: this.lsn,
            seq: this.seq,
            commitTimeUs: this.commitTimeUs,
            cascade: msg.cascade,
            restartIdentity: msg.restartIdentity,
            tx: this.tx
          }
          this.offer(writer, change)
        }
        return undefined
      }
      case "StreamStart":
      case "StreamStop":
      case "StreamCommit":
      case "StreamAbort":
        return this.violation(`unexpected streamed transaction message ${msg._tag} (streaming is not requested)`)
      case "Unsupported":
        return this.violation(`unsupported pgoutput message '${msg.tag}'`)
      default:
        return undefined
    }
  }

  /** the bytes of an update or delete, copied into the writer's arena when the decoder put them elsewhere */
  private inArena(msg: RawRowBytes, arena: RawArena, relation: Relation): RawRowBytes {
    if (msg.arena === arena) return msg
    const first = msg.oldStart >= 0 ? msg.oldStart : msg.newStart
    const at = arena.put(msg.buf, first, msg.end) - first
    this.arenas?.set(relation.oid, arena)
    return {
      buf: arena.buf,
      arena,
      oldStart: msg.oldStart < 0 ? -1 : msg.oldStart + at,
      newStart: msg.newStart < 0 ? -1 : msg.newStart + at,
      end: msg.end + at,
      plain: msg.plain
    }
  }

  private ddlEvent(relation: Relation, msg: { readonly newTuple: Tuple }): void {
    const tx = { sid: this.sid, source: this.source, lsn: this.lsn, seq: this.seq, commitTimeUs: this.commitTimeUs }
    const routed = routeDdl(this.router, relation, msg.newTuple, tx)
    if (routed === undefined) return
    if ("unmapped" in routed) this.onUnmappedDdl?.(routed.unmapped)
    else this.offer(routed.writer, routed.change)
  }

  private offer(writer: TableWriter, change: Queued): void {
    this.tracker.dispatched(1)
    if (this.windows?.hold(writer, change)) return
    if (!writer.tryOffer(change)) this.blocked.push({ writer, change })
  }

  /** delivers what closed windows released; what they dropped is released to the tracker as applied */
  private flushWindows(): void {
    const windows = this.windows!
    for (const { writer, change } of windows.takeReleased()) {
      if (!writer.tryOffer(change)) this.blocked.push({ writer, change })
    }
    for (const change of windows.takeDropped()) this.tracker.release(change.lsn, 1)
  }

  private violation(detail: string) {
    return new ProtocolViolation({ source: this.source, detail })
  }
}
