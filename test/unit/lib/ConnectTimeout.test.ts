import { describe, expect, it } from "@effect/vitest"
import { connectConfig } from "../../../src/lib/ConnectConfig.js"
import { connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS } from "../../../src/lib/ConnectTimeout.js"

describe("connectTimeoutMs", () => {
  it("reads connect_timeout in seconds as libpq does, else the default", () => {
    expect(connectTimeoutMs("postgres://u@h/db")).toBe(DEFAULT_CONNECT_TIMEOUT_MS)
    expect(connectTimeoutMs(undefined)).toBe(DEFAULT_CONNECT_TIMEOUT_MS)
    expect(connectTimeoutMs("postgres://u@h/db?sslmode=require&connect_timeout=7")).toBe(7_000)
    expect(connectTimeoutMs("postgres://u@h/db?connect_timeout=0")).toBe(0) // wait forever
    expect(connectTimeoutMs("postgres://u@h/db?connect_timeout=1")).toBe(2_000) // libpq's minimum
    expect(connectTimeoutMs("postgres://u@h/db?connect_timeout=abc")).toBe(DEFAULT_CONNECT_TIMEOUT_MS)
    // several hosts: not a WHATWG URL, still read
    expect(connectTimeoutMs("postgres://u@h1:5432,h2:5433/db?connect_timeout=4")).toBe(4_000)
    // keyword/value form, as libpq (and walferry's multi-host support) accept it
    expect(connectTimeoutMs("host=a,b port=5432 dbname=db connect_timeout=5")).toBe(5_000)
    expect(connectTimeoutMs("host=a dbname='my db' connect_timeout='6'")).toBe(6_000)
    expect(connectTimeoutMs("host=a dbname=db")).toBe(DEFAULT_CONNECT_TIMEOUT_MS)
  })

  it("leaves a configuration that sets its own timeout alone", () => {
    expect(connectConfig({ connectionString: "postgres://h/db", connectionTimeoutMillis: 500 })).toEqual({
      connectionString: "postgres://h/db",
      connectionTimeoutMillis: 500
    })
    expect(connectConfig({ connectionString: "postgres://h/db?connect_timeout=3" }).connectionTimeoutMillis).toBe(3_000)
  })

  it("gives a URL libpq's sslmode on the way (SslMode)", () => {
    expect(connectConfig({ connectionString: "postgres://h/db?sslmode=require" })).toEqual({
      connectionString: "postgres://h/db?sslmode=require&uselibpqcompat=true",
      connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS
    })
    expect(connectConfig({ host: "h", database: "db" })).toEqual({
      host: "h",
      database: "db",
      connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS
    })
  })
})
