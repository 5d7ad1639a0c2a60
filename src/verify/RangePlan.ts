/**
 * Key ranges to compare. A range is `(lower, upper]` in the source key's btree order (null = open), as in
 * the initial copy's ChunkPlanner, whose boundaries (every n-th key, or a block sample for big tables) make
 * the top-level ranges; the ranges of one table cover the whole key space, so a key only the destination
 * has still falls in exactly one. A differing range is split at every `step`-th key of whichever side has
 * more rows in it, into at most `fanout` sub-ranges, until it holds at most `leafRows` rows: then its rows'
 * keys and hashes are compared. Everything here is pure.
 */
import type { ChunkBounds } from "../sync/copy/ChunkPlanner.js"

export type Bound = ReadonlyArray<string>
export type KeyRange = ChunkBounds

/** one side's summary of a range: row count and the sum of its 64-bit row hashes (decimal text) */
export interface RangeSummary {
  readonly rows: number
  readonly sum: string
}

export const sameSummary = (a: RangeSummary, b: RangeSummary): boolean => a.rows === b.rows && a.sum === b.sum

const sameBound = (a: Bound, b: Bound) => a.length === b.length && a.every((v, i) => v === b[i])

/** contiguous ranges `(lower, b1], (b1, b2], …, (bn, upper]` from ascending inner boundaries (repeats dropped) */
export const rangesBetween = (
  lower: Bound | null,
  upper: Bound | null,
  bounds: ReadonlyArray<Bound>
): Array<KeyRange> => {
  const inner: Array<Bound> = []
  for (const b of bounds) {
    const last = inner[inner.length - 1] ?? lower
    if (last !== null && sameBound(last, b)) continue
    if (upper !== null && sameBound(upper, b)) continue
    inner.push(b)
  }
  const out: Array<KeyRange> = []
  let from = lower
  for (const b of inner) {
    out.push({ lower: from, upper: b })
    from = b
  }
  out.push({ lower: from, upper })
  return out
}

export interface SplitPlan {
  /** compare the rows themselves */
  readonly leaf: boolean
  /** split at every `step`-th key (when not a leaf) */
  readonly step: number
  /** the side whose keys give the boundaries */
  readonly side: "source" | "destination"
}

/** how to narrow a range whose summaries differ */
export const splitPlan = (
  source: RangeSummary,
  destination: RangeSummary,
  leafRows: number,
  fanout: number
): SplitPlan => {
  const rows = Math.max(source.rows, destination.rows)
  const side = source.rows >= destination.rows ? "source" : "destination"
  if (rows <= leafRows) return { leaf: true, step: rows, side }
  return { leaf: false, step: Math.max(Math.ceil(rows / fanout), Math.ceil(leafRows / 2)), side }
}

/** true when splitting did not make the range smaller (every row shares one boundary): compare rows */
export const splitFailed = (ranges: ReadonlyArray<KeyRange>): boolean => ranges.length < 2
