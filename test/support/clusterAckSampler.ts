/**
 * Cluster fault test: every ~100 ms for the whole test, reads each source's slot confirmed_flush_lsn, then the
 * destination's tick rows and `walferry.positions`, and records a violation when a slot confirmed past a change
 * the destination has not committed. A tick whose commit record ends at or before confirmed_flush_lsn is never
 * sent again, so by the time the slot shows it confirmed the destination must hold it: `tick_all.n` at least
 * its counter, and the position of (tick_all, that source) at least its change's lower bound. The destination
 * is read after the slots, so a correct walferry can never fail this.
 */
import pg from "pg"
import type { Tick } from "./clusterWorkload.js"
import { formatLsn, lsnOf, sleep } from "./WalferryProcess.js"

export interface SampledSource {
  readonly url: string
  readonly sid: string
  /** walferry's key of the source, `walferry.positions.source` */
  readonly source: string
  /** the ticks committed so far on this source (grows while sampling) */
  readonly ticks: () => ReadonlyArray<Tick>
}

export interface AckSample {
  readonly samples: number
  /** (sample, source) pairs where some tick was already confirmed and so was checked */
  readonly checked: number
  readonly violations: ReadonlyArray<string>
}

const connect = async (url: string) => {
  const client = new pg.Client({ connectionString: url, application_name: "ack sampler" })
  client.on("error", () => undefined)
  await client.connect()
  return client
}

/** the last tick whose commit ends at or before `confirmed` (ticks are in commit order) */
const lastConfirmed = (ticks: ReadonlyArray<Tick>, confirmed: bigint): Tick | undefined => {
  let lo = 0
  let hi = ticks.length - 1
  let found: Tick | undefined
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (ticks[mid]!.after <= confirmed) {
      found = ticks[mid]
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

export const startAckSampler = async (sources: ReadonlyArray<SampledSource>, destinationUrl: string) => {
  const srcClients = await Promise.all(sources.map((s) => connect(s.url)))
  const dst = await connect(destinationUrl)
  const violations: Array<string> = []
  let samples = 0
  let checked = 0
  let stopped = false
  const sampleOnce = async () => {
    const confirmed = await Promise.all(
      srcClients.map(async (c) => {
        const { rows } = await c.query<{ c: string | null }>(
          `select confirmed_flush_lsn::text as c from pg_replication_slots
            where database = current_database() and slot_type = 'logical'`
        )
        return rows[0]?.c == null ? undefined : lsnOf(rows[0].c)
      })
    )
    const ticks = new Map(
      (await dst.query<{ sid: string; n: string }>("select sid, n::text as n from tick_all")).rows.map(
        (r) => [r.sid, Number(r.n)] as const
      )
    )
    const positions = new Map(
      (
        await dst.query<{ source: string; lsn: string }>(
          `select source, lsn::text as lsn from walferry.positions where target like '%tick_all'`
        )
      ).rows.map((r) => [r.source, lsnOf(r.lsn)] as const)
    )
    samples++
    for (const [i, s] of sources.entries()) {
      const c = confirmed[i]
      if (c === undefined) continue
      const tick = lastConfirmed(s.ticks(), c)
      if (tick === undefined) continue
      checked++
      const applied = ticks.get(s.sid) ?? 0
      const position = positions.get(s.source) ?? 0n
      if (applied < tick.n || position < tick.before)
        violations.push(
          `${new Date().toISOString()} ${s.source}: slot confirmed ${formatLsn(c)}, past tick ${tick.n} ` +
            `(change ≥ ${formatLsn(tick.before)}, commit end ≤ ${formatLsn(tick.after)}), but the destination ` +
            `has tick ${applied} and position ${formatLsn(position)}`
        )
    }
  }
  const loop = (async () => {
    while (!stopped) {
      // before walferry created its store and slots, a sample fails: skip it
      await sampleOnce().catch(() => undefined)
      await sleep(100)
    }
  })()
  return {
    stop: async (): Promise<AckSample> => {
      stopped = true
      await loop
      await Promise.all([...srcClients, dst].map((c) => c.end().catch(() => undefined)))
      return { samples, checked, violations }
    }
  }
}
