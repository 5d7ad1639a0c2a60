import { describe, expect, it } from "@effect/vitest"
import * as Lsn from "../../../src/domain/Lsn.js"

describe("Lsn", () => {
  it("parses and formats Postgres' text form", () => {
    expect(Lsn.parse("0/0")).toBe(0n)
    expect(Lsn.parse("16/B374D848")).toBe((0x16n << 32n) | 0xb374d848n)
    expect(Lsn.format(Lsn.parse("16/B374D848"))).toBe("16/B374D848")
    expect(Lsn.format(Lsn.parse("ffffffff/ffffffff"))).toBe("FFFFFFFF/FFFFFFFF")
  })
  it("rejects malformed text", () => {
    for (const bad of ["", "/", "1/", "/1", "x/1", "1/123456789", "1-2"]) expect(() => Lsn.parse(bad)).toThrow()
  })
  it("orders and measures", () => {
    expect(Lsn.max(1n, 2n)).toBe(2n)
    expect(Lsn.min(1n, 2n)).toBe(1n)
    expect(Lsn.distance(10n, 4n)).toBe(0n)
    expect(Lsn.distance(4n, 10n)).toBe(6n)
  })
})
