/**
 * CPU used by each process of a benchmark phase, read from /proc (Linux): which process is the bottleneck
 * and what a row costs in CPU, so figures from a machine with few cores can be read for one with more.
 * Processes that exit inside the phase are not seen; the processes of a streaming run live throughout.
 */
import { readdirSync, readFileSync } from "node:fs"

const TICKS_PER_S = 100

interface Proc {
  readonly ticks: number
  readonly role: string
}

/** the role the benchmarks poll the servers as (openPoller): its backends are nobody's cost */
export const POLL_ROLE = "bench_poll"

const roleOf = (cmd: string): string | undefined => {
  if (cmd.includes("bin/walferry.js")) return "walferry"
  if (!cmd.startsWith("postgres:") || cmd.startsWith(`postgres: ${POLL_ROLE} `)) return undefined
  if (cmd.includes("walsender")) return "walsender"
  if (cmd.includes("apply worker")) return "apply worker"
  if (/^postgres: \S+ dest_\w+ /.test(cmd)) return "destination backend"
  return "other server processes"
}

/** a part of the walferry role, not counted again in totals */
export const MAIN_THREAD = "walferry main thread"

export type CpuSnapshot = ReadonlyMap<number, Proc>

/** process ids descending from this benchmark (its servers, their backends, walferry): not other users' */
const descendants = (all: ReadonlyMap<number, number>): Set<number> => {
  const mine = new Set<number>([process.pid])
  const isMine = (pid: number, depth = 0): boolean => {
    if (mine.has(pid)) return true
    const parent = all.get(pid)
    if (parent === undefined || parent <= 1 || depth > 16 || !isMine(parent, depth + 1)) return false
    mine.add(pid)
    return true
  }
  for (const pid of all.keys()) isMine(pid)
  return mine
}

export const cpuSnapshot = (): CpuSnapshot => {
  const procs = new Map<number, Proc>()
  const parents = new Map<number, number>()
  const stats = new Map<number, { role: string; fields: Array<string> }>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      parents.set(Number(entry), Number(fields[1]))
      const role = roleOf(readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " "))
      if (role !== undefined) stats.set(Number(entry), { role, fields })
    } catch {
      /* exited meanwhile */
    }
  }
  // on a shared machine other people's walferry and Postgres processes must not count
  const mine = descendants(parents)
  for (const [pid, { role, fields }] of stats) {
    if (!mine.has(pid)) continue
    procs.set(pid, { ticks: Number(fields[11]) + Number(fields[12]), role })
    if (role === "walferry") {
      // its main thread alone (the rest is V8's GC helpers and libuv): the bound of one walferry on any machine
      try {
        const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8")
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        procs.set(-pid, { ticks: Number(f[11]) + Number(f[12]), role: MAIN_THREAD })
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return procs
}

export interface CpuUse {
  /** CPU seconds per role */
  readonly byRole: ReadonlyMap<string, number>
  readonly total: number
  /** the single process that used the most, and its CPU seconds */
  readonly busiest: { readonly role: string; readonly seconds: number }
}

export const cpuSince = (start: CpuSnapshot, end: CpuSnapshot = cpuSnapshot()): CpuUse => {
  const byRole = new Map<string, number>()
  let total = 0
  let busiest = { role: "none", seconds: 0 }
  for (const [pid, p] of end) {
    const seconds = (p.ticks - (start.get(pid)?.ticks ?? 0)) / TICKS_PER_S
    byRole.set(p.role, (byRole.get(p.role) ?? 0) + seconds)
    if (p.role === MAIN_THREAD) continue
    total += seconds
    if (seconds > busiest.seconds) busiest = { role: p.role, seconds }
  }
  return { byRole, total, busiest }
}
