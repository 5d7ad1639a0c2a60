/**
 * walferry as a child process running the TypeScript source (`node --import tsx src/main.ts run`), for
 * the initial-sync crash test and the sync benchmark: `bin/walferry.js` prefers a compiled `dist/`, which
 * may lag behind the checkout. The YAML config lives in a temp dir removed by `stop`; the output is kept
 * (last 2,000 lines) for assertions; `kill` signals the PID. Every child still alive when the test process
 * exits is SIGKILLed.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { stringify } from "yaml"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
const KEEP = 2_000
const live = new Set<ChildProcess>()
let hooked = false

export interface SyncProcessOptions {
  readonly destination: string
  /** the kuvasz map (groups may carry walferry's `sync_rate_*` keys) */
  readonly map: ReadonlyArray<Record<string, unknown>>
  readonly tuning?: Readonly<Record<string, number>>
  readonly logLevel?: "debug" | "info" | "warning"
  /** run the compiled `dist/` through bin/walferry.js, as an installed walferry runs (benchmarks) */
  readonly compiled?: boolean
}

export interface SyncProcess {
  readonly pid: number
  readonly output: () => string
  readonly kill: (signal: NodeJS.Signals) => void
  readonly exited: Promise<number | null>
  /** SIGKILL if alive, wait for the exit, remove the temp dir */
  readonly stop: () => Promise<void>
}

export const startSyncProcess = (options: SyncProcessOptions): SyncProcess => {
  if (!hooked) {
    hooked = true
    process.once("exit", () => {
      for (const c of live) c.kill("SIGKILL")
    })
  }
  const dir = mkdtempSync(join(tmpdir(), "walferry-sync-"))
  const file = join(dir, "walferry.yaml")
  writeFileSync(
    file,
    stringify({
      destination: { url: options.destination },
      map: options.map,
      auto_create: false,
      tuning: { ...options.tuning },
      api: { enabled: false },
      log: { level: options.logLevel ?? "info", format: "logfmt" }
    })
  )
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WALFERRY_")) env[k] = v
  const entry = options.compiled
    ? ["--max-semi-space-size=8", join(ROOT, "bin", "walferry.js")]
    : ["--import", "tsx", join(ROOT, "src", "main.ts")]
  const child = spawn(process.execPath, [...entry, "run", "--config", file], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  live.add(child)
  const lines: Array<string> = []
  let partial = ""
  const collect = (chunk: Buffer) => {
    const parts = (partial + chunk.toString("utf8")).split("\n")
    partial = parts.pop() ?? ""
    lines.push(...parts)
    if (lines.length > KEEP) lines.splice(0, lines.length - KEEP)
    if (process.env.WALFERRY_TEST_LOGS) for (const l of parts) process.stderr.write(`[walferry ${child.pid}] ${l}\n`)
  }
  child.stdout?.on("data", collect)
  child.stderr?.on("data", collect)
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      live.delete(child)
      resolve(code)
    })
  )
  return {
    pid: child.pid ?? -1,
    output: () => [...lines, partial].join("\n"),
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
