import type { Change } from "../domain/Change.js"
import { DELETE, INSERT, UPDATE } from "../domain/Change.js"
import { observeBatch, recordBatch, setLag } from "../telemetry/Metrics.js"

interface Slice {
  database: string
  sid: string
  table: string
  insert: number
  update: number
  delete: number
  truncate: number
  lastCommitUs: bigint
}

/** the last change of a run of one source is its newest (a source's changes come in commit order) */
const newest = (s: Slice, c: Change): void => {
  if (c.commitTimeUs > s.lastCommitUs) s.lastCommitUs = c.commitTimeUs
}

/**
 * Reports one committed (or failed) batch of a table writer: kuvasz-compatible operation counters per
 * source table and sid, batch size and time, and end-to-end lag per source (destination commit time
 * minus the source commit time of the newest change). One pass, a few objects per batch, none per row.
 */
export const reportBatch = (target: string, batch: ReadonlyArray<Change>, seconds: number, ok: boolean): void => {
  const slices = new Map<string, Slice>()
  let last: Change | undefined
  let s: Slice | undefined
  for (const c of batch) {
    // consecutive changes of one source table share their slice: no key is built for them
    if (s === undefined || c.source !== last!.source || c.relation !== last!.relation) {
      if (s !== undefined) newest(s, last!)
      const key = `${c.source}\u0000${c.relation.name}`
      s = slices.get(key)
      if (s === undefined) {
        const slash = c.source.indexOf("/")
        s = {
          database: c.source.slice(0, slash),
          sid: c.sid,
          table: c.relation.name,
          insert: 0,
          update: 0,
          delete: 0,
          truncate: 0,
          lastCommitUs: 0n
        }
        slices.set(key, s)
      }
    }
    last = c
    if (c._tag === "Truncate") s.truncate++
    else if (c.op === INSERT) s.insert++
    else if (c.op === UPDATE) s.update++
    else if (c.op === DELETE) s.delete++
  }
  if (s !== undefined) newest(s, last!)
  const nowUs = BigInt(Date.now()) * 1000n
  for (const s of slices.values()) {
    recordBatch(s.table, s.database, s.sid, s, seconds, ok ? "success" : "failure")
    if (ok) setLag(s.database, s.sid, Number(nowUs - s.lastCommitUs) / 1e6)
  }
  if (ok) observeBatch(target, batch.length, seconds)
}
