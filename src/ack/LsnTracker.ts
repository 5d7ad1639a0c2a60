import type { Lsn } from "../domain/Lsn.js"

/**
 * Pure bookkeeping of one source's outstanding changes, in commit order.
 *
 * Guarantee: `confirmable` is the highest position such that every change of every transaction
 * committed at or before it has been committed on the destination (or deliberately skipped) — never
 * further. A stopped table caps it below its first unapplied change so that a restart replays it.
 * When nothing is outstanding and no transaction is open, a server keepalive position is confirmable
 * as is (the walsender only reports positions it has already sent us).
 */
interface Pending {
  readonly commitLsn: Lsn
  endLsn: Lsn
  count: number
}

export class LsnTracker {
  private readonly pending: Array<Pending> = []
  private head = 0
  private open: Pending | undefined
  private confirmedLsn: Lsn
  private cap: Lsn | undefined

  constructor(start: Lsn) {
    this.confirmedLsn = start
  }

  /** a transaction with commit LSN `commitLsn` starts */
  begin(commitLsn: Lsn): void {
    this.open = { commitLsn, endLsn: 0n, count: 0 }
    this.pending.push(this.open)
  }

  /** `n` changes of the open transaction were handed to writers */
  dispatched(n = 1): void {
    if (this.open) this.open.count += n
  }

  /** the open transaction is complete; `endLsn` is what confirms it */
  commit(endLsn: Lsn): void {
    if (this.open) this.open.endLsn = endLsn
    this.open = undefined
    this.advance()
  }

  /** writers committed (or skipped) `n` changes of the transaction with commit LSN `commitLsn` */
  release(commitLsn: Lsn, n: number): void {
    for (let i = this.head; i < this.pending.length; i++) {
      const p = this.pending[i]!
      if (p.commitLsn === commitLsn) {
        p.count -= n
        if (p.count < 0) throw new Error(`LsnTracker: released more changes than dispatched at ${commitLsn}`)
        break
      }
    }
    this.advance()
  }

  /** keepalive / idle: the server has sent everything up to `walEnd` */
  idle(walEnd: Lsn): void {
    if (this.open === undefined && this.head === this.pending.length && walEnd > this.confirmedLsn) {
      this.confirmedLsn = walEnd
    }
  }

  /** never confirm at or past `lsn` again (a stopped table's first unapplied transaction) */
  capAt(lsn: Lsn): void {
    const below = lsn > 0n ? lsn - 1n : 0n
    this.cap = this.cap === undefined || below < this.cap ? below : this.cap
  }

  get capped(): Lsn | undefined {
    return this.cap
  }

  get confirmable(): Lsn {
    return this.cap !== undefined && this.cap < this.confirmedLsn ? this.cap : this.confirmedLsn
  }

  get outstanding(): number {
    let n = 0
    for (let i = this.head; i < this.pending.length; i++) n += this.pending[i]!.count
    return n
  }

  get inTransaction(): boolean {
    return this.open !== undefined
  }

  private advance(): void {
    while (this.head < this.pending.length) {
      const p = this.pending[this.head]!
      if (p.count > 0 || p === this.open) break
      if (p.endLsn > this.confirmedLsn) this.confirmedLsn = p.endLsn
      this.head++
    }
    if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head)
      this.head = 0
    }
  }
}
