/**
 * What a batch costs a history (SCD type 2) table: random keys of a 10,000-key table (sid + id, its primary
 * key leading with them) get updates in batches of `--small` and `--large` changes, each batch through
 * applyHistory in its own destination transaction (a new version opened, the previous one closed), as a
 * writer applies it. It prints per batch the destination backend's CPU (from /proc), walferry's client CPU
 * (this process: statement building, parameters, the driver) and the wall time, so the history path's fixed
 * cost per batch (what a moderate stream pays, a few changes per batch) and its cost per row can be compared
 * across changes. No walferry process or replication is involved.
 * Usage: npm run bench:history [-- --small 3 --large 30 --batches 1500 --rounds 2]
 */
import { readFileSync } from "node:fs"
import { relation } from "../test/support/changes.js"
import { historySource, openHistoryDb } from "../test/support/historyChanges.js"
import { arg } from "./args.js"

const SMALL = arg("small", 3)
const LARGE = arg("large", 30)
const BATCHES = arg("batches", 1500)
const ROUNDS = arg("rounds", 2)
const KEYS = 10_000

const cpuTicks = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return Number(fields[11]) + Number(fields[12])
}

const db = await openHistoryDb()
try {
  const people = relation("people", ["id", "name", "salary"], { key: ["id"] })
  await db.create("people", { sid: true })
  const target = await db.target("people")
  const source = historySource("a")
  for (let i = 0; i < KEYS; i += 1000) {
    const rows = Array.from({ length: 1000 }, (_, j) => ({ id: String(i + j), name: `n${i + j}`, salary: "1" }))
    await db.apply(
      target,
      rows.map((r) => source.insert(people, r))
    )
    source.commit()
  }
  await db.sql("vacuum analyze public.people")
  const backends = (
    await db.sql("select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")
  ).map((r) => Number(r.pid))
  console.log(`history apply, ${KEYS.toLocaleString("en-US")} keys, updates of random keys (µs per batch)`)
  for (let round = 1; round <= ROUNDS; round++) {
    const rows: Record<string, Record<string, string>> = {}
    for (const size of [SMALL, LARGE]) {
      const n = Math.max(1, Math.round((BATCHES * SMALL) / size))
      const backend0 = backends.map(cpuTicks)
      const client0 = process.cpuUsage()
      const started = performance.now()
      for (let b = 0; b < n; b++) {
        const batch = Array.from({ length: size }, () => {
          const k = Math.floor(Math.random() * KEYS)
          return source.update(people, { id: String(k), name: `m${b}`, salary: String(b) })
        })
        await db.apply(target, batch)
        source.commit()
      }
      const backend = backends.map(cpuTicks).reduce((sum, t, i) => sum + t - backend0[i]!, 0) * 10_000
      const client = process.cpuUsage(client0)
      rows[`${size} changes`] = {
        "backend CPU": (backend / n).toFixed(0),
        "client CPU": ((client.user + client.system) / n).toFixed(0),
        wall: (((performance.now() - started) * 1000) / n).toFixed(0)
      }
    }
    console.log(`round ${round} of ${ROUNDS}`)
    console.table(rows)
  }
} finally {
  await db.close()
}
