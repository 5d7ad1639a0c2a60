import type { Inbound } from "./ReplicationConnection.js"

/**
 * Messages [0, count) of `items`. A connection fills two in turn: the one a take returned is cleared and
 * filled again by the take after next, so its array keeps its capacity instead of growing anew every time
 */
export class InboundBatch {
  readonly items: Array<Inbound | undefined> = []
  count = 0

  add(item: Inbound): void {
    this.items[this.count++] = item
  }

  /** drops the references (nothing handled stays alive), keeps the capacity */
  clear(): void {
    if (this.count === 0) return
    this.items.fill(undefined, 0, this.count)
    this.count = 0
  }
}

/** no messages: what a take answers after its time without any, and what the pump holds between takes */
export const EMPTY_BATCH = new InboundBatch()
