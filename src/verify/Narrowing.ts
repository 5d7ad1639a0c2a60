/**
 * Compares one key range of a table on both sides and narrows it to rows: both summaries are computed at
 * once (one query per side); an equal range stops there, nothing else is read. A differing one is split
 * (RangePlan) and its sub-ranges compared one after the other, down to leaves of at most `leafRows` rows,
 * whose keys and row hashes are read from both sides and diffed (RowDiff). Keyless tables compare their
 * whole row-hash multisets and fetch the text of the differing rows only.
 */
import { Effect } from "effect"
import { chunkPredicates } from "../sync/copy/ChunkPlanner.js"
import { conditionOf, hashCountsSql, rowsByHashSql, rowsSql, splitSql, summarySql, type HashSide } from "./HashSql.js"
import { rangesBetween, sameSummary, splitFailed, splitPlan, type KeyRange, type RangeSummary } from "./RangePlan.js"
import { diffMultisets, diffRows, type RowDifference, type RowHash } from "./RowDiff.js"
import { poolQuery, VerifyFailed, withClient, type VerifyDb } from "./VerifyDb.js"
import type { VerifyTable } from "./VerifyTable.js"

export interface NarrowOptions {
  readonly leafRows: number
  readonly fanout: number
}

/** a range compared row by row, with the differences found there */
export interface Leaf {
  readonly range: KeyRange
  readonly condition: string
  readonly diffs: ReadonlyArray<RowDifference>
}

export interface RangeResult {
  readonly source: RangeSummary
  readonly destination: RangeSummary
  /** leaves with differences (empty when the range is equal) */
  readonly leaves: ReadonlyArray<Leaf>
}

const summary = (db: VerifyDb, t: VerifyTable, condition: string) => {
  const one = (pool: VerifyDb["source"], side: HashSide) =>
    Effect.map(
      poolQuery<{ n: string; s: string }>(pool, t.label, summarySql(side, t.hashed, condition), side.params),
      (r) => ({
        rows: Number(r[0]!.n),
        sum: r[0]!.s
      })
    )
  return Effect.all([one(db.source, t.sourceSide), one(db.destination, t.destinationSide)], { concurrency: 2 })
}

const rowHashes = (pool: VerifyDb["source"], t: VerifyTable, side: HashSide, condition: string) =>
  Effect.map(
    poolQuery<Record<string, string | null>>(pool, t.label, rowsSql(side, t.key, t.hashed, condition), side.params),
    (rows): Array<RowHash> => rows.map((r) => ({ key: t.key.map((_, i) => r[`k${i}`] ?? null), hash: r.h! }))
  )

/** the differences of one range, read row by row */
export const compareLeaf = (
  db: VerifyDb,
  t: VerifyTable,
  range: KeyRange,
  condition: string
): Effect.Effect<Leaf, VerifyFailed> =>
  Effect.map(
    Effect.all(
      [rowHashes(db.source, t, t.sourceSide, condition), rowHashes(db.destination, t, t.destinationSide, condition)],
      { concurrency: 2 }
    ),
    ([s, d]) => ({ range, condition, diffs: diffRows(s, d) })
  )

/** `(lower, upper]` conditions of ranges, literals quoted by the source server */
export const conditionsOf = (db: VerifyDb, t: VerifyTable, ranges: ReadonlyArray<KeyRange>) =>
  withClient(db.source, t.label, (client) =>
    Effect.map(
      chunkPredicates(client, t.sync, ranges).pipe(
        Effect.mapError((e) => new VerifyFailed({ table: t.label, message: e.message }))
      ),
      (ps) => ps.map(conditionOf)
    )
  )

const splitBounds = (db: VerifyDb, t: VerifyTable, destination: boolean, condition: string, step: number) => {
  const [pool, side] = destination ? [db.destination, t.destinationSide] : [db.source, t.sourceSide]
  return Effect.map(
    poolQuery<Record<string, string>>(pool, t.label, splitSql(side, t.key, condition), [...side.params, step]),
    (rows) => rows.map((r) => t.key.map((_, i) => r[`k${i}`]!))
  )
}

/** compares `range` (whose condition is `condition`) and narrows it down to the differing rows */
export const compareRange = (
  db: VerifyDb,
  t: VerifyTable,
  range: KeyRange,
  condition: string,
  options: NarrowOptions
): Effect.Effect<RangeResult, VerifyFailed> =>
  Effect.gen(function* () {
    const [source, destination] = yield* summary(db, t, condition)
    if (sameSummary(source, destination)) return { source, destination, leaves: [] }
    const plan = splitPlan(source, destination, options.leafRows, options.fanout)
    const leaf = () => Effect.map(compareLeaf(db, t, range, condition), (l) => ({ source, destination, leaves: [l] }))
    if (plan.leaf) return yield* leaf()
    const bounds = yield* splitBounds(db, t, plan.side === "destination", condition, plan.step)
    const ranges = rangesBetween(range.lower, range.upper, bounds)
    if (splitFailed(ranges)) return yield* leaf()
    const conditions = yield* conditionsOf(db, t, ranges)
    const subs = yield* Effect.forEach(ranges, (r, i) => compareRange(db, t, r, conditions[i]!, options))
    return { source, destination, leaves: subs.flatMap((s) => s.leaves) }
  })

/** keyless: the row-hash multisets of both sides; differing rows named by their text (up to `maxRows` each) */
export const compareKeyless = (
  db: VerifyDb,
  t: VerifyTable,
  maxRows: number
): Effect.Effect<RangeResult & { readonly texts: ReadonlyMap<string, string> }, VerifyFailed> =>
  Effect.gen(function* () {
    const [source, destination] = yield* summary(db, t, "true")
    const whole: KeyRange = { lower: null, upper: null }
    if (sameSummary(source, destination)) return { source, destination, leaves: [], texts: new Map() }
    const counts = (pool: VerifyDb["source"], side: HashSide) =>
      Effect.map(
        poolQuery<{ h: string; n: number }>(pool, t.label, hashCountsSql(side, t.hashed), side.params),
        (rows) => rows.map((r) => ({ hash: r.h, count: r.n }))
      )
    const [s, d] = yield* Effect.all([counts(db.source, t.sourceSide), counts(db.destination, t.destinationSide)], {
      concurrency: 2
    })
    const { missing, extra } = diffMultisets(s, d)
    const texts = new Map<string, string>()
    const fetch = (pool: VerifyDb["source"], side: HashSide, hashes: ReadonlyArray<string>) =>
      hashes.length === 0
        ? Effect.void
        : Effect.map(
            poolQuery<{ r: string; h: string }>(pool, t.label, rowsByHashSql(side, t.hashed), [...side.params, hashes]),
            (rows) => rows.forEach((r) => texts.set(r.h, r.r))
          )
    yield* fetch(
      db.source,
      t.sourceSide,
      missing.slice(0, maxRows).map((m) => m.hash)
    )
    yield* fetch(
      db.destination,
      t.destinationSide,
      extra.slice(0, maxRows).map((m) => m.hash)
    )
    const diffs: Array<RowDifference> = [
      ...missing.flatMap((m) =>
        Array.from({ length: m.count }, () => ({ kind: "missing" as const, key: [], hash: m.hash }))
      ),
      ...extra.flatMap((m) =>
        Array.from({ length: m.count }, () => ({ kind: "extra" as const, key: [], hash: m.hash }))
      )
    ]
    return { source, destination, leaves: [{ range: whole, condition: "true", diffs }], texts }
  })
