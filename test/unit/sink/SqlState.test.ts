import { describe, expect, it } from "@effect/vitest"
import { ColumnMapError } from "../../../src/apply/ColumnMap.js"
import {
  applyError,
  classify,
  conditionName,
  describe as describeError,
  sqlStateOf
} from "../../../src/sink/SqlState.js"

const pgError = (code: string, message: string, extra: Record<string, string> = {}) =>
  Object.assign(new Error(message), { code, severity: "ERROR", ...extra })

describe("SqlState", () => {
  it("classifies by SQLSTATE class and code", () => {
    for (const code of ["08006", "08P01", "40001", "40P01", "53300", "55P03", "57P01", "57P02", "57P03", "57014"]) {
      expect([code, classify(pgError(code, "x"))]).toEqual([code, "transient"])
    }
    for (const code of ["42703", "42P01", "23502", "23514", "23505", "22P02", "22003", "42804", "XX000", "57P04"]) {
      expect([code, classify(pgError(code, "x"))]).toEqual([code, "permanent"])
    }
  })

  it("classifies node connection errors and messages as transient, anything unknown as permanent", () => {
    for (const code of ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]) {
      expect(classify(Object.assign(new Error("net"), { code }))).toBe("transient")
      expect(sqlStateOf({ code })).toBeUndefined()
    }
    expect(classify(new Error("Connection terminated unexpectedly"))).toBe("transient")
    expect(classify(new Error("Connection terminated"))).toBe("transient")
    expect(classify(new Error("wrapped", { cause: pgError("40P01", "deadlock detected") }))).toBe("transient")
    expect(classify(new Error("boom"))).toBe("permanent")
    expect(classify("a string")).toBe("permanent")
  })

  it("names conditions, falling back to the class", () => {
    expect(conditionName("42703")).toBe("undefined_column")
    expect(conditionName("22023")).toBe("data_exception")
    expect(conditionName("ZZ999")).toBe("unknown_condition")
  })

  it("describes with the fields of the error", () => {
    const err = pgError("23505", 'duplicate key value violates unique constraint "t_pkey"', {
      schema: "public",
      table: "t_part1",
      constraint: "t_pkey"
    })
    expect(describeError(err, { schema: "public", name: "t" })).toBe(
      'walferry: table public.t: relation public.t_part1: constraint "t_pkey": 23505 unique_violation: ' +
        'duplicate key value violates unique constraint "t_pkey"'
    )
    expect(describeError(new Error("plain"))).toBe("walferry: plain")
  })

  it("wraps once, keeping walferry messages and the cause", () => {
    const mapError = new ColumnMapError('walferry: table public.t: key column "id" is missing (source public.t)')
    const wrapped = applyError(mapError, { schema: "public", name: "t" })
    expect(wrapped.message).toBe(mapError.message)
    expect(wrapped.cause).toBe(mapError)
    expect(wrapped.transient).toBe(false)
    expect(applyError(wrapped)).toBe(wrapped)
  })
})
