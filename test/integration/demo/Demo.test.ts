/**
 * The embedded demo as a newcomer runs it: `walferry` with no arguments and no configuration in the
 * environment, as a child process for about 25 s. Its printed URLs must work (API, both databases), rows
 * must arrive in the destination, and Ctrl-C (SIGINT) must end it with exit 0 and its data directories gone.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const BIN = join(ROOT, "bin", "walferry.js")

const demoEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("WALFERRY_") && !["SOURCE_URL", "TARGET_URL", "TABLES"].includes(k)) env[k] = v
  }
  return env
}

const count = async (url: string, table: string): Promise<number> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n
  } finally {
    await client.end()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("embedded demo (walferry with no configuration)", () => {
  let child: ChildProcess
  let output = ""
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  let exited = false
  const started = Date.now()

  const printed = (re: RegExp) => re.exec(output)?.[1]
  const waitOutput = async (re: RegExp, timeoutMs: number) => {
    const until = Date.now() + timeoutMs
    while (!re.test(output)) {
      if (exited) throw new Error(`demo exited early:\n${output}`)
      if (Date.now() > until) throw new Error(`demo did not print ${re} within ${timeoutMs} ms:\n${output}`)
      await sleep(100)
    }
  }
  const dataDirs = () => [...output.matchAll(/data: (\S+)/g)].map((m) => m[1]!)

  beforeAll(async () => {
    child = spawn(process.execPath, [BIN], { cwd: ROOT, env: demoEnv(), stdio: ["ignore", "pipe", "pipe"] })
    child.stdout!.on("data", (d) => (output += d))
    child.stderr!.on("data", (d) => (output += d))
    exit = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        exited = true
        resolve({ code, signal })
      })
    )
    await waitOutput(/Ctrl-C stops/, 90_000)
  })

  afterAll(async () => {
    if (!exited && child.pid !== undefined) {
      process.kill(child.pid, "SIGKILL")
      await exit
    }
    for (const dir of dataDirs()) {
      const pidFile = join(dir, "postmaster.pid")
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : NaN
      if (pid > 0) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("prints the API URLs, the token and psql commands for both databases", () => {
    expect(output).toMatch(/status\s+http:\/\/127\.0\.0\.1:\d+\/status/)
    expect(output).toMatch(/metrics\s+http:\/\/127\.0\.0\.1:\d+\/metrics/)
    expect(output).toMatch(/token\s+[0-9a-f]{32}/)
    expect(output).toMatch(/source\s+psql postgres:\/\/postgres@127\.0\.0\.1:\d+\/shop/)
    expect(output).toMatch(/destination\s+psql postgres:\/\/postgres@127\.0\.0\.1:\d+\/warehouse/)
    expect(dataDirs()).toHaveLength(2)
  })

  it("answers GET /status and /metrics", async () => {
    const base = printed(/status\s+(http:\/\/\S+)\/status/)!
    const status = await fetch(`${base}/status`)
    expect(status.status).toBe(200)
    const body = (await status.json()) as { sources: ReadonlyArray<{ database: string }> }
    expect(body.sources.map((s) => s.database).sort()).toEqual(["shop", "shop_history"])
    const metrics = await fetch(`${base}/metrics`)
    expect(await metrics.text()).toContain("streamer_operations_total")
  })

  it("streams the workload into the destination", async () => {
    const dst = printed(/destination\s+psql (\S+)/)!
    await waitOutput(/^demo: \d+ tx; rows source → destination/m, 30_000)
    const until = Date.now() + 30_000
    let orders = 0
    while (Date.now() < until && (orders = await count(dst, "orders").catch(() => 0)) <= 300) await sleep(200)
    expect(orders).toBeGreaterThan(300)
    expect(await count(dst, "customers")).toBeGreaterThanOrEqual(200)
    expect(await count(dst, "order_items")).toBeGreaterThanOrEqual(900)
    expect(await count(dst, "customers_history")).toBeGreaterThanOrEqual(200)
  })

  it("stops on SIGINT with exit 0 and removes both data directories", async () => {
    await sleep(Math.max(0, 25_000 - (Date.now() - started)))
    const dirs = dataDirs()
    expect(dirs.every((d) => existsSync(d))).toBe(true)
    child.kill("SIGINT")
    const result = await Promise.race([exit, sleep(60_000).then(() => undefined)])
    expect(result, output).toEqual({ code: 0, signal: null })
    expect(dirs.filter((d) => existsSync(d))).toEqual([])
    expect(output).toContain("demo: stopping")
  })
})
