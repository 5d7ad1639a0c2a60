/**
 * A fixed-size ring of samples for the console's charts: one time column and any number of named value columns,
 * all aligned. Memory is bounded by `capacity` × columns (Float64Array, NaN = no value); a column that has had no
 * value for a whole window is dropped, so tables and sources that went away do not accumulate.
 */

export interface SeriesWindow {
  /** unix seconds, oldest first */
  readonly t: ReadonlyArray<number>
  /** per column, aligned with `t`; null where there was no value */
  readonly columns: ReadonlyMap<string, ReadonlyArray<number | null>>
}

export interface SeriesRing {
  readonly capacity: number
  /** appends one sample; columns not named in `values` get no value at `t` */
  readonly push: (t: number, values: ReadonlyMap<string, number | undefined>) => void
  /** the samples in time order */
  readonly read: () => SeriesWindow
  /** the newest value of a column, undefined when it has none */
  readonly last: (column: string) => number | undefined
  /** the value of a column `back` samples before the newest (0 = newest) */
  readonly at: (column: string, back: number) => { readonly t: number; readonly value: number } | undefined
  readonly size: () => number
}

export const makeSeriesRing = (capacity: number): SeriesRing => {
  if (!Number.isInteger(capacity) || capacity < 2) throw new Error(`series capacity must be >= 2, got ${capacity}`)
  const times = new Float64Array(capacity)
  const columns = new Map<string, { values: Float64Array; lastSeen: number }>()
  let next = 0 // where the next sample goes
  let count = 0
  let pushes = 0

  const index = (i: number) => (next - count + i + capacity) % capacity

  const push: SeriesRing["push"] = (t, values) => {
    const slot = next
    times[slot] = t
    for (const [name, v] of values) {
      if (v === undefined || !Number.isFinite(v)) continue
      let col = columns.get(name)
      if (col === undefined) {
        col = { values: new Float64Array(capacity).fill(NaN), lastSeen: pushes }
        columns.set(name, col)
      }
      col.values[slot] = v
      col.lastSeen = pushes
    }
    for (const [name, col] of columns) {
      if (col.lastSeen !== pushes) {
        col.values[slot] = NaN
        if (pushes - col.lastSeen >= capacity) columns.delete(name)
      }
    }
    next = (next + 1) % capacity
    if (count < capacity) count++
    pushes++
  }

  const read = (): SeriesWindow => {
    const t = new Array<number>(count)
    for (let i = 0; i < count; i++) t[i] = times[index(i)]!
    const out = new Map<string, Array<number | null>>()
    for (const [name, col] of columns) {
      const vs = new Array<number | null>(count)
      for (let i = 0; i < count; i++) {
        const v = col.values[index(i)]!
        vs[i] = Number.isNaN(v) ? null : v
      }
      out.set(name, vs)
    }
    return { t, columns: out }
  }

  const at: SeriesRing["at"] = (column, back) => {
    const col = columns.get(column)
    if (col === undefined || back >= count) return undefined
    const i = index(count - 1 - back)
    const value = col.values[i]!
    return Number.isNaN(value) ? undefined : { t: times[i]!, value }
  }

  return {
    capacity,
    push,
    read,
    last: (column) => at(column, 0)?.value,
    at,
    size: () => count
  }
}
