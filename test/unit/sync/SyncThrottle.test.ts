import { describe, expect, it } from "@effect/vitest"
import { Effect, Scope, Exit } from "effect"
import type { SourceGroup, WalferryConfig } from "../../../src/config/Config.js"
import { binaryRows, textRows } from "../../../src/sync/copy/CopyRows.js"
import { acquireThrottle } from "../../../src/sync/SyncThrottle.js"

const config = (rows?: number, bytes?: number) =>
  ({ tuning: { syncRateRows: rows, syncRateBytes: bytes } }) as unknown as WalferryConfig
const group = (rows?: number, bytes?: number) =>
  ({
    database: "d",
    urls: [],
    tables: [],
    ...(rows ? { syncRateRows: rows } : {}),
    ...(bytes ? { syncRateBytes: bytes } : {})
  }) as SourceGroup

const timed = async (f: () => Promise<void>) => {
  const t = performance.now()
  await f()
  return (performance.now() - t) / 1000
}

describe("SyncThrottle", () => {
  it("counts COPY text rows by newline (escaped newlines are not row ends)", () => {
    expect(textRows().push(Buffer.from("1\ta\n2\tb\\nc\n3"))).toBe(2)
    expect(textRows().push(Buffer.alloc(0))).toBe(0)
  })

  it("is a no-op without limits", async () => {
    const scope = Effect.runSync(Scope.make())
    const t = await Effect.runPromise(Scope.extend(acquireThrottle(config(), group()), scope))
    expect(t.limited).toBe(false)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it("paces rows at the global rate, even in blocks bigger than a second's worth", async () => {
    const scope = Effect.runSync(Scope.make())
    const t = await Effect.runPromise(Scope.extend(acquireThrottle(config(2_000), group()), scope))
    const took = await timed(async () => {
      for (let i = 0; i < 4; i++) await t.take(500, 10)
      await t.take(2_500, 10)
    })
    expect(took).toBeGreaterThan(0.8 * 2.25)
    // the upper bounds leave room for a loaded machine's timer lag; a doubled wait still fails
    expect(took).toBeLessThan(1.6 * 2.25)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it("shares the global limit between sources and adds each source's own bytes limit", async () => {
    const scope = Effect.runSync(Scope.make())
    const cfg = config(4_000)
    const a = await Effect.runPromise(Scope.extend(acquireThrottle(cfg, group()), scope))
    const b = await Effect.runPromise(Scope.extend(acquireThrottle(cfg, group(undefined, 100_000)), scope))
    const together = await timed(() => Promise.all([a.take(2_000, 0), b.take(2_000, 0)]).then(() => undefined))
    expect(together).toBeGreaterThan(0.8)
    expect(together).toBeLessThan(1.8)
    const bytes = await timed(() => b.take(1, 100_000))
    expect(bytes).toBeGreaterThan(0.8)
    expect(bytes).toBeLessThan(1.8)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })
})

describe("CopyRows", () => {
  it("counts binary COPY rows across arbitrary block boundaries", () => {
    const header = Buffer.concat([
      Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"),
      Buffer.alloc(4),
      Buffer.from([0, 0, 0, 2, 9, 9])
    ])
    const field = (v: string | null) => {
      const len = Buffer.alloc(4)
      len.writeInt32BE(v === null ? -1 : Buffer.byteLength(v))
      return v === null ? len : Buffer.concat([len, Buffer.from(v)])
    }
    const row = (...vs: Array<string | null>) => {
      const n = Buffer.alloc(2)
      n.writeInt16BE(vs.length)
      return Buffer.concat([n, ...vs.map(field)])
    }
    const trailer = Buffer.from([0xff, 0xff])
    const data = Buffer.concat([header, row("a", null, ""), row("hello world", "x"), row(null, null, null), trailer])
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const counter = binaryRows()
      let n = 0
      for (let i = 0; i < data.length; i += size) n += counter.push(data.subarray(i, i + size))
      expect(n).toBe(3)
    }
  })
})
