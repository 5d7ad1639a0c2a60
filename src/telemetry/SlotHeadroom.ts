/**
 * When to warn that a replication slot is about to be invalidated by `max_slot_wal_keep_size`: Postgres reports how
 * much more WAL the slot may retain (`safe_wal_size`); the console warns when that headroom is under a fifth of the
 * limit, or when retained WAL grows fast enough to use it up within half an hour.
 */

export const LOW_HEADROOM_FRACTION = 0.2
export const WARN_WITHIN_SECONDS = 30 * 60

export const formatBytes = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let v = Math.abs(n)
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${n < 0 ? "-" : ""}${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

export interface HeadroomInput {
  /** WAL the slot retains now */
  readonly retainedBytes: number | undefined
  /** safe_wal_size now; undefined when unlimited (max_slot_wal_keep_size = -1) or PG < 13 */
  readonly safeWalSizeBytes: number | undefined
  /** retained WAL growth in bytes per second over the last minutes, undefined when unknown */
  readonly growthBytesPerSecond: number | undefined
}

/** a sentence for the operator, or null when the slot is in no danger */
export const slotWarning = (input: HeadroomInput): string | null => {
  const { retainedBytes, safeWalSizeBytes: safe, growthBytesPerSecond: growth } = input
  if (safe === undefined) return null
  if (safe <= 0) {
    return "the slot has no WAL headroom left: Postgres invalidates it at the next checkpoint (max_slot_wal_keep_size); the table must then be copied again"
  }
  const limit = (retainedBytes ?? 0) + safe
  if (limit > 0 && safe / limit < LOW_HEADROOM_FRACTION) {
    return `only ${formatBytes(safe)} of WAL headroom left (${Math.round((100 * safe) / limit)}% of max_slot_wal_keep_size) before the slot is invalidated`
  }
  if (growth !== undefined && growth > 0 && safe / growth < WARN_WITHIN_SECONDS) {
    const minutes = Math.max(1, Math.round(safe / growth / 60))
    return `retained WAL grows by ${formatBytes(growth * 60)}/min: at this rate the slot is invalidated in about ${minutes} min (max_slot_wal_keep_size)`
  }
  return null
}
