/**
 * Initial-sync rate limits on Effect's RateLimiter: rows/s and bytes/s, global (`tuning.sync_rate_*`,
 * shared by every source of the engine) and per source URL (`sync_rate_*` of its group). Copy streams
 * take tokens before passing each block of COPY data on, so a limited copy slows down at the source socket
 * (backpressure); the replication stream never goes through here.
 *
 * RateLimiter's token bucket refills one token per `interval / limit`, so a limiter of 100,000 tokens per
 * second would refill at timer granularity (~1,000/s). Each limiter therefore refills TOKENS tokens per
 * second worth `rate / TOKENS` units each, into a bucket of BUCKET tokens (0.2 s of burst after idling);
 * costs are charged with a fractional carry and split into takes of at most BUCKET (a bigger take would
 * never be granted). The bucket is emptied when made: a sync starts at the rate, not with a burst.
 */
import { Effect, Exit, RateLimiter, Runtime, Scope } from "effect"
import type { SourceGroup, WalferryConfig } from "../config/Config.js"

export interface Throttle {
  readonly limited: boolean
  /** a rows/s limit applies: `take` needs exact row counts per block */
  readonly countsRows: boolean
  /** resolves once `rows` rows and `bytes` bytes may pass */
  readonly take: (rows: number, bytes: number) => Promise<void>
}

type Meter = (amount: number) => Effect.Effect<void>

/** tokens per second of every limiter; the bucket holds BUCKET of them (a fifth of a second of burst) */
const TOKENS = 50
const BUCKET = 10

const meter = (rate: number): Effect.Effect<Meter, never, Scope.Scope> =>
  Effect.map(RateLimiter.make({ limit: BUCKET, interval: `${(1000 * BUCKET) / TOKENS} millis` }), (limiter) => {
    let owed = 0
    Effect.runSync(limiter(Effect.void).pipe(RateLimiter.withCost(BUCKET)))
    return (amount: number) => {
      owed += (amount * TOKENS) / rate
      let whole = Math.floor(owed)
      owed -= whole
      const takes: Array<number> = []
      for (; whole > 0; whole -= BUCKET) takes.push(Math.min(BUCKET, whole))
      return Effect.forEach(takes, (n) => limiter(Effect.void).pipe(RateLimiter.withCost(n)), { discard: true })
    }
  })

interface Meters {
  readonly rows: Meter | undefined
  readonly bytes: Meter | undefined
}

const meters = (rows: number | undefined, bytes: number | undefined): Effect.Effect<Meters, never, Scope.Scope> =>
  Effect.all({
    rows: rows === undefined ? Effect.succeed(undefined) : meter(rows),
    bytes: bytes === undefined ? Effect.succeed(undefined) : meter(bytes)
  })

interface Shared {
  refs: number
  readonly scope: Scope.CloseableScope
  readonly meters: Meters
}

/** global meters per engine configuration, alive while a source reader holds them */
const shared = new WeakMap<WalferryConfig, Shared>()

const acquireShared = (config: WalferryConfig): Effect.Effect<Meters, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const found = shared.get(config)
      if (found) {
        found.refs++
        return found
      }
      const scope = yield* Scope.make()
      const built = yield* Scope.extend(meters(config.tuning.syncRateRows, config.tuning.syncRateBytes), scope)
      const entry: Shared = { refs: 1, scope, meters: built }
      shared.set(config, entry)
      return entry
    }),
    (entry) =>
      Effect.suspend(() => {
        if (--entry.refs > 0) return Effect.void
        shared.delete(config)
        return Scope.close(entry.scope, Exit.void)
      })
  ).pipe(Effect.map((e) => e.meters))

/** the throttle of one source URL of `group`: its own limits, then the engine-wide ones */
export const acquireThrottle = (
  config: WalferryConfig,
  group: SourceGroup
): Effect.Effect<Throttle, never, Scope.Scope> =>
  Effect.gen(function* () {
    const global = yield* acquireShared(config)
    const own = yield* meters(group.syncRateRows, group.syncRateBytes)
    const steps = [own, global].flatMap((m) => [
      ...(m.rows ? [{ meter: m.rows, rows: true }] : []),
      ...(m.bytes ? [{ meter: m.bytes, rows: false }] : [])
    ])
    if (steps.length === 0) return { limited: false, countsRows: false, take: () => Promise.resolve() }
    const run = Runtime.runPromise(yield* Effect.runtime<never>())
    return {
      limited: true,
      countsRows: steps.some((s) => s.rows),
      take: (rows, bytes) => run(Effect.forEach(steps, (s) => s.meter(s.rows ? rows : bytes), { discard: true }))
    }
  })
