import { describe, expect, it } from "@effect/vitest"
import { MAX_NAME_BYTES, objectName, publicationName, slotName } from "../../../src/source/Naming.js"

describe("Naming", () => {
  it("joins prefix, database and sid like kuvasz", () => {
    expect(slotName("kuvasz", "db1", "12")).toBe("kuvasz_db1_12")
    expect(publicationName("walferry", "db1", "12")).toBe("walferry_db1_12")
  })

  it("leaves out an empty sid", () => {
    expect(slotName("walferry", "db1", "")).toBe("walferry_db1")
  })

  it("lower-cases and replaces every character outside [a-z0-9_]", () => {
    expect(slotName("WalFerry", "billing-EU.main", "tenant 7")).toBe("walferry_billing_eu_main_tenant_7")
    expect(slotName("w", 'dé"b', "ß")).toBe("w_d__b__")
  })

  it("keeps a name of exactly 63 bytes as is", () => {
    const db = "d".repeat(MAX_NAME_BYTES - "walferry_".length)
    const name = slotName("walferry", db, "")
    expect(name).toBe(`walferry_${db}`)
    expect(name.length).toBe(MAX_NAME_BYTES)
  })

  it("truncates longer names to 63 bytes and appends a hash so they stay unique", () => {
    const db = "a_very_long_database_group_name_for_the_billing_service"
    const a = slotName("walferry", db, "tenant_0001")
    const b = slotName("walferry", db, "tenant_0002")
    expect(Buffer.byteLength(a)).toBe(MAX_NAME_BYTES)
    expect(Buffer.byteLength(b)).toBe(MAX_NAME_BYTES)
    expect(a).not.toBe(b)
    expect(a).toMatch(/^walferry_a_very_long_database_group_name_for_the_billi_[0-9a-f]{8}$/)
    expect(slotName("walferry", db, "tenant_0001")).toBe(a)
  })

  it("produces only characters Postgres accepts in slot names", () => {
    const name = objectName("Ünïcode-😀", "x".repeat(80), "SID/9")
    expect(name).toMatch(/^[a-z0-9_]{1,63}$/)
  })

  it("names the slot and the publication alike", () => {
    expect(publicationName("p", "Db", "s")).toBe(slotName("p", "Db", "s"))
  })
})
