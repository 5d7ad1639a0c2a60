/** `source_origin: none` on a source older than PostgreSQL 16 is refused with a clear error; 16+ accepts it. */
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { originNone } from "../../../src/source/OriginFilter.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"

describe("source_origin: none and the source version", () => {
  let old: TestPg
  let recent: TestPg
  const group = { database: "app", urls: [], tables: [] }

  beforeAll(async () => {
    ;[old, recent] = await Promise.all([startTestPg({ version: 15 }), startTestPg({ version: 17 })])
  }, 120_000)

  afterAll(async () => {
    await Promise.all([old?.stop(), recent?.stop()])
  })

  it("refuses a 15 source, accepts a 17 one, and asks nothing when not configured", async () => {
    const url = (s: TestPg) => ({ url: Redacted.make(s.url()), sid: "s1" })
    const refused = await Effect.runPromise(Effect.flip(originNone(group, url(old), true)))
    expect(refused._tag).toBe("OriginFilterUnsupported")
    expect(refused.message).toBe(
      "source app/s1: source_origin: none needs PostgreSQL 16 or newer on the source (it runs 15); remove it, " +
        "or changes applied on this source by replication would stream back"
    )
    expect(await Effect.runPromise(originNone(group, url(recent), true))).toBe(true)
    expect(await Effect.runPromise(originNone(group, url(old), false))).toBe(false)
  }, 60_000)
})
