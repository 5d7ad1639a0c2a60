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
  /** false once a transaction arrived with a lower commit LSN than the one before (then search linearly) */
  private sorted = true
  /** where the next release probably is: just after the last transaction found */
  private hint = 0

  constructor(start: Lsn) {
    this.confirmedLsn = start
  }

  /** a transaction with commit LSN `commitLsn` starts */
  begin(commitLsn: Lsn): void {
    const last = this.pending[this.pending.length - 1]
    if (last !== undefined && last.commitLsn >= commitLsn) this.sorted = false
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
    const p = this.find(commitLsn)
    if (p !== undefined) {
      p.count -= n
      if (p.count < 0) throw new Error(`LsnTracker: released more changes than dispatched at ${commitLsn}`)
    }
    this.advance()
  }

  /**
   * the pending transaction with this commit LSN: transactions arrive in commit order, so `pending` is sorted
   * by commit LSN and a binary search finds it (a linear scan cost O(outstanding) per released run, which with
   * many small transactions behind a slow table made releasing quadratic)
   */
  private find(commitLsn: Lsn): Pending | undefined {
    // a writer releases its batch in commit order: the transaction after the last one found comes next
    const next = this.hint >= this.head ? this.pending[this.hint] : undefined
    if (next !== undefined && next.commitLsn === commitLsn) {
      this.hint++
      return next
    }
    let lo = this.head
    let hi = this.pending.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const p = this.pending[mid]!
      if (p.commitLsn === commitLsn) {
        this.hint = mid + 1
        return p
      }
      if (p.commitLsn < commitLsn) lo = mid + 1
      else hi = mid - 1
    }
    if (this.sorted) return undefined
    for (let i = this.head; i < this.pending.length; i++)
      if (this.pending[i]!.commitLsn === commitLsn) return this.pending[i]
    return undefined
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
      this.hint = Math.max(0, this.hint - this.head)
      this.head = 0
    }
  }
}
