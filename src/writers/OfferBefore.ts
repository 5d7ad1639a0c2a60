/**
 * Offering a change to a writer from a finalizer (a stop), where nothing can be interrupted and nothing may
 * wait forever: tries until `deadline` (epoch ms), looking again every few milliseconds while the mailbox is
 * full. An offer that times out takes nothing, so the caller still holds the change and decides what happens
 * to it (it stays unconfirmed and the slot replays it).
 */
import { Effect } from "effect"
import type { Queued } from "../domain/Change.js"
import type { TableWriter } from "./TableWriter.js"

const RETRY_EVERY = "5 millis"

/** true once `writer` took `change`; false when its mailbox stayed full until `deadline` */
export const offerBefore = (writer: TableWriter, change: Queued, deadline: number): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    while (!writer.tryOffer(change)) {
      if (Date.now() > deadline) return false
      yield* Effect.sleep(RETRY_EVERY)
    }
    return true
  })
