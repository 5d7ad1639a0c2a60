/**
 * Moves decoded messages from the replication connection into the dispatcher.
 *
 * Its position (current inbound batch, next index, changes still to hand to a full mailbox) lives in
 * the pump, not in a fiber, so a stop can resume exactly where the reading fiber was interrupted and
 * finish the transaction in progress: a graceful stop then leaves the destination at a transaction
 * boundary that the final confirmed LSN describes exactly. Every YIELD_EVERY messages it lets the event
 * loop run (a macrotask, not a fiber yield), so destination replies are not kept waiting behind a large
 * inbox: the writers' round trips overlap the reading instead of queueing behind it.
 */
import { Effect } from "effect"
import type { AcknowledgerShape } from "../ack/Acknowledger.js"
import type { LsnTracker } from "../ack/LsnTracker.js"
import { DecodeError } from "../decode/PgOutputDecoder.js"
import type { ChangeDispatcher } from "./ChangeDispatcher.js"
import { EMPTY_BATCH, type InboundBatch } from "./InboundBatch.js"
import { KeepAlive, type ReplicationConnection } from "./ReplicationConnection.js"
import { offerBefore } from "../writers/OfferBefore.js"

const YIELD_EVERY = 512

const eventLoopTurn = Effect.async<void>((resume) => {
  const id = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(id))
})

export class ReadPump {
  private inbound: InboundBatch = EMPTY_BATCH
  private next = 0

  constructor(
    private readonly conn: ReplicationConnection,
    private readonly dispatcher: ChangeDispatcher,
    private readonly tracker: LsnTracker,
    private readonly ack: AcknowledgerShape,
    private readonly onBatch: () => void
  ) {}

  /** reads forever, suspending on full mailboxes (backpressure) */
  get run() {
    return this.pump(undefined)
  }

  /**
   * Finishes the open transaction, if any, without ever blocking past `deadline` (epoch ms): usable in
   * a finalizer, where nothing can be interrupted. Returns whether it reached a transaction boundary.
   */
  finish(deadline: number) {
    return this.pump(deadline)
  }

  private pump(deadline: number | undefined) {
    const self = this
    const blocked = this.dispatcher.blocked
    return Effect.gen(function* () {
      while (true) {
        while (blocked.length > 0) {
          const { writer, change } = blocked[0]!
          if (deadline === undefined) yield* writer.offer(change)
          else if (!(yield* offerBefore(writer, change, deadline))) return false
          blocked.shift()
        }
        if (deadline !== undefined && !self.tracker.inTransaction) return true
        if (self.next >= self.inbound.count) {
          self.inbound = EMPTY_BATCH // the take clears what was handled: nothing is kept alive while the socket is awaited
          if (deadline === undefined) self.inbound = yield* self.conn.takeAll
          else {
            const left = deadline - Date.now()
            if (left <= 0) return false
            self.inbound = yield* self.conn.takeWithin(left)
          }
          self.next = 0
          self.onBatch()
        }
        if (self.next >= self.inbound.count) continue
        if ((self.next & (YIELD_EVERY - 1)) === YIELD_EVERY - 1) yield* eventLoopTurn
        const item = self.inbound.items[self.next++]!
        if (item instanceof KeepAlive) {
          self.ack.keepAlive(self.dispatcher.source, item.walEnd, item.replyRequested)
          continue
        }
        if (item instanceof DecodeError) return yield* item
        const msg = item
        const violation = self.dispatcher.handle(msg)
        if (violation) return yield* violation
        if (msg._tag === "Commit") self.ack.received(self.dispatcher.source, msg.endLsn)
      }
    })
  }
}
