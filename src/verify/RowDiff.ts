/**
 * Row-level comparison, pure: the keys and hashes of one range from both sides → rows missing on the
 * destination, extra there, or different (same key, other hash; a key the destination holds twice, such as
 * two open history versions, is different too). Differences of all ranges of a table are reconciled by key
 * (when the two servers order a text key by different collations a row can fall in different ranges on
 * each side: missing in one and extra in another, with the same hash, is no difference). Keyless tables
 * compare multisets of row hashes.
 */
export type KeyValues = ReadonlyArray<string | null>

export interface RowHash {
  readonly key: KeyValues
  readonly hash: string
}

export type DiffKind = "missing" | "extra" | "different"

export interface RowDifference {
  readonly kind: DiffKind
  readonly key: KeyValues
  /** the source row's hash (missing, different), or the destination row's (extra) */
  readonly hash: string
}

const keyId = (key: KeyValues) => JSON.stringify(key)

/** differences between the rows of one range on the source and on the destination */
export const diffRows = (source: ReadonlyArray<RowHash>, destination: ReadonlyArray<RowHash>): Array<RowDifference> => {
  const dst = new Map<string, { readonly row: RowHash; times: number }>()
  for (const r of destination) {
    const id = keyId(r.key)
    const seen = dst.get(id)
    if (seen === undefined) dst.set(id, { row: r, times: 1 })
    else seen.times++
  }
  const out: Array<RowDifference> = []
  for (const s of source) {
    const id = keyId(s.key)
    const d = dst.get(id)
    if (d === undefined) out.push({ kind: "missing", key: s.key, hash: s.hash })
    else {
      dst.delete(id)
      if (d.times > 1 || d.row.hash !== s.hash) out.push({ kind: "different", key: s.key, hash: s.hash })
    }
  }
  for (const d of dst.values()) out.push({ kind: "extra", key: d.row.key, hash: d.row.hash })
  return out
}

/** a key missing in one range and extra in another is the same row (equal hashes) or a different one */
export const reconcile = (diffs: ReadonlyArray<RowDifference>): Array<RowDifference> => {
  const missing = new Map<string, RowDifference>()
  for (const d of diffs) if (d.kind === "missing") missing.set(keyId(d.key), d)
  const out: Array<RowDifference> = []
  const paired = new Set<string>()
  for (const d of diffs) {
    if (d.kind !== "extra") continue
    const m = missing.get(keyId(d.key))
    if (m === undefined || paired.has(keyId(d.key))) continue
    paired.add(keyId(d.key))
    if (m.hash !== d.hash) out.push({ kind: "different", key: d.key, hash: m.hash })
  }
  return [...out, ...diffs.filter((d) => d.kind === "different" || !paired.has(keyId(d.key)))]
}

export interface HashCount {
  readonly hash: string
  readonly count: number
}

/** hashes the destination has fewer times than the source (missing) or more times (extra), with how many */
export const diffMultisets = (
  source: ReadonlyArray<HashCount>,
  destination: ReadonlyArray<HashCount>
): { readonly missing: Array<HashCount>; readonly extra: Array<HashCount> } => {
  const counts = new Map<string, number>()
  for (const s of source) counts.set(s.hash, (counts.get(s.hash) ?? 0) + s.count)
  for (const d of destination) counts.set(d.hash, (counts.get(d.hash) ?? 0) - d.count)
  const missing: Array<HashCount> = []
  const extra: Array<HashCount> = []
  for (const [hash, n] of counts) {
    if (n > 0) missing.push({ hash, count: n })
    else if (n < 0) extra.push({ hash, count: -n })
  }
  return { missing, extra }
}
