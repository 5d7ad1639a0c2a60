/**
 * The stream side of the watermark (DBLog-style) sync of one source: the dispatcher reports every
 * transaction start, every watermark row and every change routed to a writer; chunk copies register
 * the windows they open.
 *
 * Guarantees, per target:
 * - hold: from the low watermark (LW) of a window until its high watermark (HW), the target's changes are
 *   held here in stream order instead of reaching its writer (they are already counted in the LsnTracker,
 *   so nothing past them is confirmed); changes after held ones are held too, so the writer's order is
 *   the stream's order.
 * - release: at a HW, held changes older than every still-open LW go to the writer (`takeReleased`), after
 *   the chunk rows, which were committed before the HW was written. A whole-table window (no key) whose
 *   rows were committed drops instead the held changes of transactions visible in its snapshot
 *   (`takeDropped`): its copy already contains them.
 * - race check: the xids of the last RING transactions touching the target are kept, so a chunk can check
 *   that every transaction the stream delivered before its LW is visible in its snapshot.
 * - recovery: a whole-table chunk committed before a crash left its window on record (LW, an LSN past
 *   every transaction visible in its snapshot, the snapshot); replayed changes in that range visible in
 *   the snapshot are dropped again, so a restart does not apply them twice.
 * Visibility: a committed transaction is visible in a snapshot (`pg_current_snapshot()`, `xmin:xmax:xip,…`,
 * 64-bit) iff its xid is below xmin, or below xmax and not in progress; the 32-bit xid of a pgoutput Begin
 * is widened to the 64-bit value nearest to xmax (xids in use are within 2^31 of it).
 */
import { Deferred, Exit, FiberId } from "effect"
import type { Queued } from "../../domain/Change.js"
import type { Lsn } from "../../domain/Lsn.js"
import type { Relation } from "../../domain/Relation.js"
import type { Position } from "../../sink/Sink.js"
import type { TableWriter } from "../../writers/TableWriter.js"

export interface XidSnapshot {
  readonly xmin: bigint
  readonly xmax: bigint
  readonly xip: ReadonlySet<bigint>
}

const EPOCH = 1n << 32n
const HALF = 1n << 31n

export const parseSnapshot = (text: string): XidSnapshot => {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim())
  if (m === null) throw new Error(`unexpected snapshot "${text}"`)
  return {
    xmin: BigInt(m[1]!),
    xmax: BigInt(m[2]!),
    xip: new Set(m[3] === "" ? [] : m[3]!.split(",").map((x) => BigInt(x)))
  }
}

export const widenXid = (snapshot: XidSnapshot, xid: number): bigint => {
  let full = (snapshot.xmax & ~(EPOCH - 1n)) | BigInt(xid >>> 0)
  if (full > snapshot.xmax + HALF) full -= EPOCH
  else if (full < snapshot.xmax - HALF) full += EPOCH
  return full
}

/** a committed transaction with top-level `xid` is visible in `snapshot` */
export const isVisible = (snapshot: XidSnapshot, xid: number): boolean => {
  const full = widenXid(snapshot, xid)
  return full < snapshot.xmin || (full < snapshot.xmax && !snapshot.xip.has(full))
}

export const WATERMARK_SCHEMA = "walferry"
export const WATERMARK_TABLE = "watermarks"

export interface WindowOpened {
  /** commit LSN of the LW transaction */
  readonly lwLsn: Lsn
  /** the target's last change handed to its writer before the LW (undefined: none in this run) */
  readonly last: Position | undefined
}

export class SyncWindow {
  lwLsn: Lsn | undefined = undefined
  snapshot: XidSnapshot | undefined = undefined
  /** the chunk's rows are committed on the destination */
  committed = false
  readonly opened = Deferred.unsafeMake<WindowOpened>(FiberId.none)
  readonly closed = Deferred.unsafeMake<void>(FiberId.none)

  constructor(
    readonly id: string,
    readonly target: string,
    /** whole-table window: visible held changes are dropped instead of replayed */
    readonly filtered: boolean
  ) {}
}

export interface Held {
  readonly writer: TableWriter
  readonly change: Queued
}

const RING = 8192

interface Filter {
  readonly from: Lsn
  readonly to: Lsn
  readonly snapshot: XidSnapshot
}

const positionOf = (c: Queued | undefined): Position | undefined =>
  c === undefined ? undefined : { lsn: c.lsn, seq: c.seq }

class TargetState {
  readonly filters: Array<Filter> = []
  readonly xids = new Uint32Array(RING)
  readonly lsns = new BigUint64Array(RING)
  pushed = 0
  lastXid = -1
  lastLsn: Lsn = -1n
  readonly open: Array<SyncWindow> = []
  buffer: Array<Held & { readonly xid: number }> = []
  /** the last change handed (or released) to the writer: its position is read only when asked for */
  lastChange: Queued | undefined = undefined
}

export class WatermarkWindows {
  private readonly targets = new Map<string, TargetState>()
  private readonly expected = new Map<string, SyncWindow>()
  private xid = 0
  private released: Array<Held> = []
  private dropped: Array<Queued> = []
  /** something was released or dropped outside a watermark message (an abandoned window, a recovery filter) */
  dirty = false
  /** the dispatcher's changes waiting for a full mailbox: older than anything released */
  private blocked: Array<Held> | undefined = undefined

  bind(blocked: Array<Held>): void {
    this.blocked = blocked
  }

  /** drops replayed changes of `target` in (from, to) visible in `snapshot` */
  recover(target: string, from: Lsn, to: Lsn, snapshot: XidSnapshot): void {
    this.state(target).filters.push({ from, to, snapshot })
  }

  /** a transaction of the stream starts (pgoutput Begin) */
  begin(xid: number): void {
    this.xid = xid
  }

  isMarker(relation: Relation): boolean {
    return relation.name === WATERMARK_TABLE && relation.schema === WATERMARK_SCHEMA
  }

  /** a watermark row: inserted = LW, deleted = HW (`id` is its first column) */
  marker(kind: "lw" | "hw", id: string, lsn: Lsn): void {
    const w = this.expected.get(id)
    if (w === undefined) return
    if (kind === "hw") return this.close(w)
    if (w.lwLsn !== undefined) return
    const st = this.state(w.target)
    w.lwLsn = lsn
    st.open.push(w)
    Deferred.unsafeDone(w.opened, Exit.succeed({ lwLsn: lsn, last: positionOf(st.lastChange) }))
  }

  /** a change routed to `writer`: true when it is held (the dispatcher must not deliver it) */
  hold(writer: TableWriter, change: Queued): boolean {
    const st = this.state(writer.target)
    if (st.lastXid !== this.xid || st.lastLsn !== change.lsn) {
      const i = st.pushed++ % RING
      st.xids[i] = this.xid
      st.lsns[i] = change.lsn
      st.lastXid = this.xid
      st.lastLsn = change.lsn
    }
    for (const f of st.filters) {
      // a captured DDL is never dropped: the copy read the new schema, the destination still needs it
      if (change.lsn > f.from && change.lsn < f.to && isVisible(f.snapshot, this.xid) && change._tag !== "Ddl") {
        this.dropped.push(change)
        this.dirty = true
        return true
      }
    }
    if (st.open.length > 0 || st.buffer.length > 0) {
      st.buffer.push({ writer, change, xid: this.xid })
      return true
    }
    st.lastChange = change
    return false
  }

  /** the last change of `target` handed (or released) to its writer in this run */
  handed(target: string): Position | undefined {
    return positionOf(this.targets.get(target)?.lastChange)
  }

  takeReleased(): Array<Held> {
    const out = this.released
    this.released = []
    this.dirty = false
    return out
  }

  /**
   * Hands what closed windows released to the writers when the dispatcher no longer runs (the source is
   * stopping): behind the dispatcher's blocked changes if there are any, else straight to the mailboxes.
   */
  releasedOnStop(): Array<Held> {
    const out = this.takeReleased()
    if (this.blocked === undefined || this.blocked.length === 0) return out
    this.blocked.push(...out)
    return []
  }

  /**
   * what a stop could not hand to its writers: queued behind the dispatcher's blocked changes, which the
   * reader's stop delivers first or not at all, so no later change of their tables reaches a writer before them
   */
  putBack(held: ReadonlyArray<Held>): void {
    this.blocked?.push(...held)
  }

  takeDropped(): Array<Queued> {
    const out = this.dropped
    this.dropped = []
    return out
  }

  /** registers a window before its LW is written */
  expect(id: string, target: string, filtered: boolean): SyncWindow {
    const w = new SyncWindow(id, target, filtered)
    this.expected.set(id, w)
    return w
  }

  /** every transaction touching `target` that the stream delivered before `lwLsn` is visible in `snapshot` */
  raceFree(target: string, lwLsn: Lsn, snapshot: XidSnapshot): boolean {
    const st = this.targets.get(target)
    if (st === undefined) return true
    for (let k = 0; k < Math.min(st.pushed, RING); k++) {
      const i = (st.pushed - 1 - k) % RING
      if (st.lsns[i]! < lwLsn && !isVisible(snapshot, st.xids[i]!)) return false
    }
    return true
  }

  /** the copy gave up on the window (failure, interruption): close it now */
  abandon(w: SyncWindow): void {
    if (!this.expected.has(w.id)) return
    this.close(w)
    this.dirty = true
  }

  private close(w: SyncWindow): void {
    this.expected.delete(w.id)
    const st = this.state(w.target)
    const at = st.open.indexOf(w)
    if (at >= 0) st.open.splice(at, 1)
    let bound: Lsn | undefined = undefined
    for (const o of st.open) if (bound === undefined || o.lwLsn! < bound) bound = o.lwLsn!
    const drop = w.filtered && w.committed && w.snapshot !== undefined ? w.snapshot : undefined
    let n = 0
    for (; n < st.buffer.length; n++) {
      const h = st.buffer[n]!
      if (bound !== undefined && h.change.lsn >= bound) break
      if (drop !== undefined && isVisible(drop, h.xid) && h.change._tag !== "Ddl") this.dropped.push(h.change)
      else {
        this.released.push(h)
        st.lastChange = h.change
      }
    }
    st.buffer = n === st.buffer.length ? [] : st.buffer.slice(n)
    Deferred.unsafeDone(w.closed, Exit.void)
  }

  private state(target: string): TargetState {
    let st = this.targets.get(target)
    if (st === undefined) this.targets.set(target, (st = new TargetState()))
    return st
  }
}
