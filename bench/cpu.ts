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

const roleOf = (cmd: string): string | undefined => {
  if (cmd.includes("bin/walferry.js")) return "walferry"
  if (!cmd.startsWith("postgres:")) return undefined
  if (cmd.includes("walsender")) return "walsender"
  if (cmd.includes("apply worker")) return "apply worker"
  if (/^postgres: \S+ dest_\w+ /.test(cmd)) return "destination backend"
  return "other server processes"
}

export type CpuSnapshot = ReadonlyMap<number, Proc>

export const cpuSnapshot = (): CpuSnapshot => {
  const procs = new Map<number, Proc>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const role = roleOf(readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " "))
      if (role === undefined) continue
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      procs.set(Number(entry), { ticks: Number(fields[11]) + Number(fields[12]), role })
    } catch {
      /* exited meanwhile */
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
    total += seconds
    if (seconds > busiest.seconds) busiest = { role: p.role, seconds }
  }
  return { byRole, total, busiest }
}
