/**
 * A table writer's mailbox: a bounded FIFO of changes with one taker (the writer fiber) and any number
 * of offerers (source readers, online copies).
 *
 * Guarantees: items leave in the order they were accepted; `capacity` bounds what it holds, and an
 * `offer` into a full mailbox suspends until a take makes room (offerers are served first come, first
 * served), which is what stops a source reader and so its socket. A take hands out a plain array without
 * per-item work (the batch is usually the whole backlog, moved without copying); an interrupted wait
 * takes nothing, so nothing is lost to a timeout or a shutdown.
 */
import { Effect } from "effect"
import { atTick } from "./TickClock.js"

const noop = () => undefined

export class Mailbox<A> {
  private items: Array<A> = []
  private head = 0
  private taker: (() => void) | undefined = undefined
  /** the size that wakes the taker */
  private wanted = 1
  private readonly putters: Array<() => void> = []

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head
  }

  /** accepts `a` unless the mailbox is full (or offerers wait before it) */
  tryOffer(a: A): boolean {
    if (this.size >= this.capacity || this.putters.length > 0) return false
    this.accept(a)
    return true
  }

  /** accepts `a`, suspending while the mailbox is full */
  offer(a: A): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.tryOffer(a)) return Effect.void
      return Effect.async<void>((resume) => {
        const turn = () => {
          this.accept(a)
          resume(Effect.void)
        }
        this.putters.push(turn)
        return Effect.sync(() => {
          const i = this.putters.indexOf(turn)
          if (i >= 0) this.putters.splice(i, 1)
        })
      })
    })
  }

  /** waits for at least one item, then takes up to `max` (one taker at a time) */
  takeUpTo(max: number): Effect.Effect<ReadonlyArray<A>> {
    return Effect.suspend(() => {
      if (this.size > 0) return Effect.succeed(this.take(max))
      return Effect.async<ReadonlyArray<A>>((resume) => {
        this.taker = () => resume(Effect.sync(() => this.take(max)))
        return Effect.sync(() => this.stopWaiting())
      })
    })
  }

  /**
   * waits until the mailbox holds at least `n` items, or is full (offerers then wait on the taker), or `ms`
   * have passed, one waiter at a time as for takeUpTo; it wakes once, not on every item. One timer and no
   * racing fiber (as a timeout combinator would fork), since a lingering writer waits so for every short batch.
   * Without `ms` it waits as long as it takes. It takes nothing: what arrived stays queued until a take.
   */
  awaitSizeWithin(n: number, ms?: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const cancel = this.whenSize(n, ms, () => resume(Effect.void))
      return Effect.sync(cancel)
    })
  }

  /**
   * awaitSizeWithin as a callback, for a caller that waits in steps inside one effect (collectBatch): `ready` is
   * called once, at once when the size is already there, or not at all once another waiter took its place; the
   * returned function cancels a wait not yet over. With `tick` (a tick of TickClock) the wait ends on that
   * tick, with every other wait due then, instead of after `ms`.
   */
  whenSize(n: number, ms: number | undefined, ready: () => void, tick?: number): () => void {
    const wanted = Math.min(n, this.capacity)
    if (this.size >= wanted) {
      ready()
      return noop
    }
    const taker = () => {
      clearTimeout(timer)
      ready()
    }
    // a waiter left behind by an interrupted caller (collectBatch runs no canceler) is replaced by the next
    // one, and its timer then does nothing
    const expire = () => {
      if (this.taker !== taker) return
      this.stopWaiting()
      ready()
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    if (tick !== undefined) atTick(tick, expire)
    else if (ms !== undefined) timer = setTimeout(expire, ms)
    this.wanted = wanted
    this.taker = taker
    return () => {
      clearTimeout(timer)
      if (this.taker === taker) this.stopWaiting()
    }
  }

  /** takes up to `max` of what is there, without waiting (possibly nothing) */
  takeNow(max: number): ReadonlyArray<A> {
    return this.size > 0 ? this.take(max) : []
  }

  /** takes, without waiting, the longest prefix (at most `max`) whose items `accept` takes */
  takeWhile(max: number, accept: (a: A) => boolean): Array<A> {
    let n = 0
    const limit = Math.min(this.size, max)
    while (n < limit && accept(this.items[this.head + n]!)) n++
    return n === 0 ? [] : (this.take(n) as Array<A>)
  }

  private accept(a: A): void {
    this.items.push(a)
    const taker = this.taker
    if (taker !== undefined && this.size >= this.wanted) {
      this.stopWaiting()
      taker()
    }
  }

  /** no taker waits any more (woken, timed out or interrupted) */
  private stopWaiting(): void {
    this.taker = undefined
    this.wanted = 1
  }

  private take(max: number): ReadonlyArray<A> {
    const n = Math.min(this.size, max)
    let out: Array<A>
    if (this.head === 0 && n === this.items.length) {
      out = this.items
      this.items = []
    } else {
      out = this.items.slice(this.head, this.head + n)
      this.head += n
      if (this.head === this.items.length) {
        this.items = []
        this.head = 0
      } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head)
        this.head = 0
      }
    }
    while (this.putters.length > 0 && this.size < this.capacity) this.putters.shift()!()
    return out
  }
}
