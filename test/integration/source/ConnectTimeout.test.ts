/**
 * A source that accepts TCP connections and never answers (a half-dead host, a proxy whose backend is gone):
 * every connection attempt ends after the URL's connect_timeout, so the source is retried and a stop
 * completes, instead of waiting forever inside a connection being opened (which cannot be interrupted).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { connect as checkConnect } from "../../../src/cli/CheckConnect.js"
import { openClient } from "../../../src/lib/openClient.js"
import { connect } from "../../../src/source/SourceClient.js"
import { openReplication } from "../../../src/source/ReplicationConnection.js"
import { silentSourceAndDestination, type SilentSource } from "../../support/SilentServer.js"
import { pipelineConfig, startEngine } from "../../support/engine.js"

describe("a source that never answers", () => {
  let env: SilentSource

  beforeAll(async () => {
    env = await silentSourceAndDestination()
  })

  afterAll(async () => {
    await env?.stop()
  })

  const url = (timeout: number) => `postgres://postgres@127.0.0.1:${env.silent.port}/app?connect_timeout=${timeout}`

  it("fails a connection after connect_timeout: a client, the source's scoped connection, the replication stream", async () => {
    const started = Date.now()
    await expect(openClient({ connectionString: url(2) })).rejects.toThrow()
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900)
    // once: the TLS question (libpq's default sslmode, prefer) meets the timeout, and the connect is not tried again
    expect(Date.now() - started).toBeLessThan(3_900)
    const exit = await Effect.runPromiseExit(
      Effect.scoped(connect({ connectionString: url(2) }, { database: "app", sid: "" }))
    )
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("SourceUnreachable")
    const streamed = Date.now()
    const stream = await Effect.runPromiseExit(
      Effect.scoped(
        Effect.flatMap(
          openReplication({
            source: "app/",
            url: Redacted.make(url(2)),
            slot: "s",
            publication: "p",
            highWater: 16,
            applicationName: "walferry_test"
          }),
          (conn) => conn.takeAll
        )
      )
    )
    expect(Exit.isFailure(stream) && JSON.stringify(stream.cause)).toContain("ReplicationClosed")
    expect(Date.now() - streamed).toBeLessThan(6_000)
  })

  it("walferry check gives up after its own 5 s and says so", async () => {
    const started = Date.now()
    const exit = await Effect.runPromiseExit(Effect.scoped(checkConnect(Redacted.make(url(30)))))
    expect(Date.now() - started).toBeLessThan(7_000)
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("no answer from 127.0.0.1")
  })

  it("lets an engine whose source never answers stop within seconds", async () => {
    const engine = startEngine(
      pipelineConfig({
        destination: env.dest.url("dest"),
        sources: [{ database: "app", urls: [{ url: url(2), sid: "" }], tables: ["t"] }]
      })
    )
    // the source's first connection attempt is under way
    await new Promise((r) => setTimeout(r, 500))
    expect(env.silent.connections()).toBeGreaterThan(0)
    const started = Date.now()
    await engine.stop()
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
