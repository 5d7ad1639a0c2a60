/**
 * What `/status`, `/readyz` and `/metrics` read: one snapshot of the engine, the writers and the acknowledger,
 * joined with the configuration. Error texts are passed through `redactSecrets`; no connection string is shown.
 */
import { Effect } from "effect"
import { Acknowledger } from "../ack/Acknowledger.js"
import { readVersion } from "../cli/Args.js"
import type { TableMode } from "../config/Config.js"
import * as Lsn from "../domain/Lsn.js"
import { EngineControl } from "../pipeline/EngineControl.js"
import { EngineStatus, type SourceStateName } from "../pipeline/EngineStatus.js"
import { currentConfig } from "../pipeline/LiveMapping.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { sourceReadings, syncProgress, type StatusSnapshot, type SyncProgress } from "../telemetry/Metrics.js"
import { Writers } from "../writers/Writers.js"

export interface SourceView {
  readonly database: string
  readonly sid: string
  readonly state: SourceStateName
  readonly error: string | null
  readonly since: string | null
  readonly restarts: number
  readonly confirmedLsn: string | null
  readonly receivedLsn: string | null
  readonly lagSeconds?: number
  readonly retainedWalBytes?: number
}

export type TableState = "syncing" | "streaming" | "paused" | "stopped"

export interface TableView {
  readonly target: string
  readonly mode: TableMode
  readonly state: TableState
  readonly error: string | null
  readonly rowsApplied: number
  readonly batches: number
  readonly lastLsn: string | null
  readonly mailboxDepth: number
  readonly syncProgress?: SyncProgress
}

export interface StatusView {
  readonly version: string
  readonly uptimeSeconds: number
  readonly paused: boolean
  readonly sources: ReadonlyArray<SourceView>
  readonly tables: ReadonlyArray<TableView>
}

export interface NotReady {
  readonly kind: "source" | "table"
  readonly name: string
  readonly state: string
  readonly reason: string
}

const version = readVersion()
const redact = (text: string | undefined) => (text === undefined ? null : redactSecrets(text))

export const takeSnapshot: Effect.Effect<StatusSnapshot, never, EngineStatus | Acknowledger | Writers> = Effect.all({
  sources: Effect.flatMap(EngineStatus, (s) => s.sources),
  acks: Effect.flatMap(Acknowledger, (a) => a.states),
  writers: Effect.flatMap(Writers, (w) => w.statuses)
})

const syncing = (p: SyncProgress | undefined) => p !== undefined && p.chunksDone < p.chunksTotal

export const statusView = Effect.gen(function* () {
  const config = yield* currentConfig
  const paused = yield* Effect.flatMap(EngineControl, (c) => c.paused)
  const snap = yield* takeSnapshot
  const sources = config.sources.flatMap((g) =>
    g.urls.map((u): SourceView => {
      const s = snap.sources.find((x) => x.database === g.database && x.sid === u.sid)
      const key = s?.source ?? `${g.database}/${u.sid}`
      const ack = snap.acks.find((a) => a.source === key)
      const readings = sourceReadings(g.database, u.sid)
      return {
        database: g.database,
        sid: u.sid,
        state: s?.state ?? "starting",
        error: redact(s?.error),
        since: s === undefined ? null : new Date(s.since).toISOString(),
        restarts: s?.restarts ?? 0,
        confirmedLsn: ack === undefined ? null : Lsn.format(ack.confirmed),
        receivedLsn: ack === undefined ? null : Lsn.format(ack.received),
        ...(readings?.lagSeconds === undefined ? {} : { lagSeconds: readings.lagSeconds }),
        ...(readings?.retainedWalBytes === undefined ? {} : { retainedWalBytes: readings.retainedWalBytes })
      }
    })
  )
  const modes = new Map<string, { mode: TableMode; databases: Set<string> }>()
  for (const g of config.sources) {
    for (const t of g.tables) {
      const entry = modes.get(t.target) ?? { mode: t.mode, databases: new Set<string>() }
      entry.databases.add(g.database)
      modes.set(t.target, entry)
    }
  }
  const groupSyncing = (databases: Set<string>) =>
    sources.some((s) => databases.has(s.database) && s.state === "syncing")
  const tables = [...modes].map(([target, { mode, databases }]): TableView => {
    const w = snap.writers.find((x) => x.target === target)
    const progress = syncProgress(target)
    const state: TableState =
      w?.state === "stopped"
        ? "stopped"
        : paused
          ? "paused"
          : syncing(progress) || groupSyncing(databases)
            ? "syncing"
            : "streaming"
    return {
      target,
      mode,
      state,
      error: redact(w?.error),
      rowsApplied: w?.rowsApplied ?? 0,
      batches: w?.batches ?? 0,
      lastLsn: w === undefined ? null : Lsn.format(w.lastLsn),
      mailboxDepth: w?.mailboxDepth ?? 0,
      ...(progress === undefined ? {} : { syncProgress: progress })
    }
  })
  return { version, uptimeSeconds: Math.round(process.uptime()), paused, sources, tables } satisfies StatusView
})

/** ready: every source streaming or syncing and no table stopped */
export const notReady = (view: StatusView): ReadonlyArray<NotReady> => [
  ...view.sources
    .filter((s) => s.state !== "streaming" && s.state !== "syncing")
    .map((s) => ({
      kind: "source" as const,
      name: `${s.database}/${s.sid}`,
      state: s.state,
      reason: s.error ?? `source is ${s.state}`
    })),
  ...view.tables
    .filter((t) => t.state === "stopped")
    .map((t) => ({ kind: "table" as const, name: t.target, state: t.state, reason: t.error ?? "table is stopped" }))
]
