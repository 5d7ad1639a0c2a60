/**
 * What `/status`, `/readyz` and `/metrics` read: one snapshot of the engine, the writers and the acknowledger,
 * joined with the configuration. Error texts are passed through `redactSecrets`; no connection string is shown.
 */
import { Effect, Option, Ref } from "effect"
import { Acknowledger } from "../ack/Acknowledger.js"
import { Cluster, ownerOf } from "../cluster/Cluster.js"
import { readVersion } from "../cli/Args.js"
import type { TableMode } from "../config/Config.js"
import * as Lsn from "../domain/Lsn.js"
import { EngineControl } from "../pipeline/EngineControl.js"
import { EngineStatus, type SourceStateName } from "../pipeline/EngineStatus.js"
import { Sequences } from "../sequences/Sequences.js"
import type { SequenceState } from "../sequences/SequenceSync.js"
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
  /** cluster mode: the runner streaming this source now, null while it moves */
  readonly owner?: string | null
}

/** dropped: a wildcard-matched table its sources dropped (the destination table is kept) */
export type TableState = "syncing" | "streaming" | "paused" | "stopped" | "dropped"

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
  /** the wildcard key that mapped it (absent for tables named in the mapping) */
  readonly wildcard?: string
}

export interface StatusView {
  readonly version: string
  readonly uptimeSeconds: number
  readonly paused: boolean
  readonly sources: ReadonlyArray<SourceView>
  readonly tables: ReadonlyArray<TableView>
  /** cluster mode only: this runner's id and the runners with a live heartbeat */
  readonly cluster?: { readonly runner: string; readonly runnersAlive: ReadonlyArray<string> }
  /** the sequence copier's last pass (absent outside the running service) */
  readonly sequences?: ReadonlyArray<SequenceState>
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
  const cluster = yield* Effect.serviceOption(Cluster)
  const view = Option.isSome(cluster) ? yield* cluster.value.view : undefined
  const owned = Option.isSome(cluster) ? yield* Ref.get(cluster.value.owned) : undefined
  const sources = config.sources.flatMap((g) =>
    g.urls.map((u): SourceView => {
      const s = snap.sources.find((x) => x.database === g.database && x.sid === u.sid)
      const key = s?.source ?? `${g.database}/${u.sid}`
      const ack = snap.acks.find((a) => a.source === key)
      const readings = sourceReadings(g.database, u.sid)
      return {
        database: g.database,
        sid: u.sid,
        state: s?.state ?? (view === undefined ? "starting" : "elsewhere"),
        error: redact(s?.error),
        since: s === undefined ? null : new Date(s.since).toISOString(),
        restarts: s?.restarts ?? 0,
        confirmedLsn: ack === undefined ? null : Lsn.format(ack.confirmed),
        receivedLsn: ack === undefined ? null : Lsn.format(ack.received),
        ...(readings?.lagSeconds === undefined ? {} : { lagSeconds: readings.lagSeconds }),
        ...(readings?.retainedWalBytes === undefined ? {} : { retainedWalBytes: readings.retainedWalBytes }),
        ...(view === undefined ? {} : { owner: owned?.has(key) === true ? view.runner : (ownerOf(view, key) ?? null) })
      }
    })
  )
  const modes = new Map<string, { mode: TableMode; databases: Set<string>; wildcard: string | undefined }>()
  for (const g of config.sources) {
    for (const t of g.tables) {
      const entry = modes.get(t.target) ?? { mode: t.mode, databases: new Set<string>(), wildcard: t.wildcard?.key }
      entry.databases.add(g.database)
      modes.set(t.target, entry)
    }
  }
  const groupSyncing = (databases: Set<string>) =>
    sources.some((s) => databases.has(s.database) && s.state === "syncing")
  const tables = [...modes].map(([target, { mode, databases, wildcard }]): TableView => {
    const w = snap.writers.find((x) => x.target === target)
    const progress = syncProgress(target)
    const state: TableState =
      w?.state === "stopped"
        ? "stopped"
        : w?.state === "dropped"
          ? "dropped"
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
      ...(progress === undefined ? {} : { syncProgress: progress }),
      ...(wildcard === undefined ? {} : { wildcard })
    }
  })
  const copier = yield* Effect.serviceOption(Sequences)
  const sequences = Option.isSome(copier) ? { sequences: yield* copier.value.states } : {}
  return {
    version,
    uptimeSeconds: Math.round(process.uptime()),
    paused,
    sources,
    tables,
    ...(view === undefined ? {} : { cluster: { runner: view.runner, runnersAlive: view.runnersAlive } }),
    ...sequences
  } satisfies StatusView
})

/** ready: every source streaming or syncing (in cluster mode: every source this runner owns) and no table stopped */
export const notReady = (view: StatusView): ReadonlyArray<NotReady> => [
  ...view.sources
    .filter((s) => view.cluster === undefined || s.owner === view.cluster.runner)
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
