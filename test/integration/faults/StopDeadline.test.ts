/**
 * The walferry command's last resort: a stop that cannot finish (here the source accepts TCP and never answers,
 * and its URL's connect_timeout=0 asks to wait forever, so the source is stuck opening its connection, which
 * cannot be interrupted) ends the process with exit code 1 and a message twice tuning.shutdown_timeout_ms
 * + 15 s after SIGTERM, instead of never; a stop that can finish still exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { silentSourceAndDestination, type SilentSource } from "../../support/SilentServer.js"
import { sleep, startWalferry, stopAllWalferry } from "../../support/WalferryProcess.js"
import { stopDeadlineMs } from "../../../src/cli/StopDeadline.js"

const SHUTDOWN_TIMEOUT_MS = 1_000

describe("stop deadline (walferry process)", () => {
  let env: SilentSource

  beforeAll(async () => {
    env = await silentSourceAndDestination()
  })

  afterAll(async () => {
    await stopAllWalferry()
    await env?.stop()
  })

  const start = (connectTimeout: number) =>
    startWalferry({
      destination: env.dest.url("dest"),
      map: [
        {
          database: "app",
          urls: [
            { url: `postgres://postgres@127.0.0.1:${env.silent.port}/app?connect_timeout=${connectTimeout}`, sid: "" }
          ],
          tables: { t: null }
        }
      ],
      tuning: { shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS }
    })

  it("ends a stop that cannot finish, with exit code 1 and a message, at the deadline", async () => {
    const proc = await start(0)
    const until = Date.now() + 30_000
    while (env.silent.connections() === 0 && Date.now() < until) await sleep(100)
    expect(env.silent.connections(), proc.output()).toBeGreaterThan(0) // the source is opening its connection
    const signalled = Date.now()
    proc.kill("SIGTERM")
    const exit = await proc.waitExit(stopDeadlineMs(SHUTDOWN_TIMEOUT_MS) + 15_000)
    const took = Date.now() - signalled
    expect(exit.code, proc.output()).toBe(1)
    expect(took).toBeGreaterThanOrEqual(stopDeadlineMs(SHUTDOWN_TIMEOUT_MS) - 500)
    expect(proc.output()).toContain("did not finish within 17 s")
  })

  it("does not touch a stop that finishes: exit 0", async () => {
    const proc = await start(2) // each attempt gives up after 2 s: the source is retried, and a stop completes
    const until = Date.now() + 30_000
    while (env.silent.connections() === 0 && Date.now() < until) await sleep(100)
    proc.kill("SIGTERM")
    const exit = await proc.waitExit(stopDeadlineMs(SHUTDOWN_TIMEOUT_MS))
    expect(exit.code, proc.output()).toBe(0)
    expect(proc.output()).not.toContain("did not finish")
  })
})
