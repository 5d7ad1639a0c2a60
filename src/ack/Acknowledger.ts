/**
 * LSN acknowledger: one LsnTracker per source connection, and the loop that confirms positions.
 *
 * Guarantees: the position sent to a source (standby status update, write = flush = apply) is the
 * tracker's `confirmable` — every change at or before it is committed on the destination. It is sent
 * every `statusIntervalMs`, at once when the server asks for a reply, and one last time on shutdown.
 * It never goes backwards. A restart replays from the slot's confirmed position.
 */
import { Context, Effect, Layer, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { Lsn } from "../domain/Lsn.js"
import { LsnTracker } from "./LsnTracker.js"

interface Attached {
  readonly tracker: LsnTracker
  send: ((lsn: Lsn, reply?: boolean) => void) | undefined
  sent: Lsn
  received: Lsn
}

export interface SourceAckState {
  readonly source: string
  readonly confirmed: Lsn
  readonly received: Lsn
  readonly outstanding: number
  readonly capped: Lsn | undefined
}

export interface AcknowledgerShape {
  readonly register: (source: string, start: Lsn) => Effect.Effect<LsnTracker>
  readonly attach: (source: string, send: (lsn: Lsn, reply?: boolean) => void) => Effect.Effect<void>
  readonly detach: (source: string) => Effect.Effect<void>
  /** writers: `n` changes of `source`'s transaction `lsn` are committed or skipped */
  readonly release: (source: string, lsn: Lsn, n: number) => void
  /** a table stopped: never confirm `source` at or past `lsn` */
  readonly capAt: (source: string, lsn: Lsn) => void
  readonly keepAlive: (source: string, walEnd: Lsn, reply: boolean) => void
  readonly received: (source: string, lsn: Lsn) => void
  /** send the current confirmable position of every attached source now */
  readonly flush: Effect.Effect<void>
  readonly states: Effect.Effect<ReadonlyArray<SourceAckState>>
}

export class Acknowledger extends Context.Tag("walferry/Acknowledger")<Acknowledger, AcknowledgerShape>() {}

export const makeAcknowledger = (statusIntervalMs: number) =>
  Effect.gen(function* () {
    const sources = yield* Ref.make(new Map<string, Attached>())
    const table = yield* Ref.get(sources)
    const send = (a: Attached, reply = false) => {
      const lsn = a.tracker.confirmable
      if (!a.send) return
      if (lsn > a.sent || reply) {
        a.send(lsn > a.sent ? lsn : a.sent, reply)
        if (lsn > a.sent) a.sent = lsn
      }
    }
    const flush = Effect.sync(() => {
      for (const a of table.values()) send(a)
    })
    yield* flush.pipe(Effect.delay(`${statusIntervalMs} millis`), Effect.forever, Effect.forkScoped)
    yield* Effect.addFinalizer(() => flush)
    const shape: AcknowledgerShape = {
      register: (source, start) =>
        Effect.sync(() => {
          const tracker = new LsnTracker(start)
          table.set(source, { tracker, send: undefined, sent: start, received: start })
          return tracker
        }),
      attach: (source, fn) =>
        Effect.sync(() => {
          const a = table.get(source)
          if (a) a.send = fn
        }),
      detach: (source) =>
        Effect.sync(() => {
          const a = table.get(source)
          if (a) {
            send(a)
            a.send = undefined
          }
        }),
      release: (source, lsn, n) => table.get(source)?.tracker.release(lsn, n),
      capAt: (source, lsn) => table.get(source)?.tracker.capAt(lsn),
      keepAlive: (source, walEnd, reply) => {
        const a = table.get(source)
        if (!a) return
        if (walEnd > a.received) a.received = walEnd
        a.tracker.idle(walEnd)
        if (reply) send(a, true)
      },
      received: (source, lsn) => {
        const a = table.get(source)
        if (a && lsn > a.received) a.received = lsn
      },
      flush,
      states: Effect.sync(() =>
        [...table.entries()].map(([source, a]) => ({
          source,
          confirmed: a.sent,
          received: a.received,
          outstanding: a.tracker.outstanding,
          capped: a.tracker.capped
        }))
      )
    }
    return shape
  })

export const AcknowledgerLive = Layer.scoped(
  Acknowledger,
  Effect.flatMap(AppConfig, (c) => makeAcknowledger(c.tuning.statusIntervalMs))
)
