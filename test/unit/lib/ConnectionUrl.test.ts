import { describe, expect, it } from "@effect/vitest"
import { connectionUrl } from "../../../src/lib/ConnectionUrl.js"
import { connectionParam } from "../../../src/lib/ConnectionParam.js"

describe("connectionUrl", () => {
  it("writes libpq's keyword/value form as the URL node-postgres reads", () => {
    expect(connectionUrl("host=db1 port=5433 dbname=app user=repl password=secret sslmode=require")).toBe(
      "postgresql://repl:secret@db1:5433/app?sslmode=require"
    )
    expect(connectionUrl("  host = db1   dbname = 'my db'  ")).toBe("postgresql://db1/my%20db")
  })

  it("keeps quoted and escaped values, with their spaces, quotes and URL characters", () => {
    const url = connectionUrl(`host=h user=u password='it\\'s @ 50%/?#' dbname=d options='-c statement_timeout=0'`)
    expect(url).toBe("postgresql://u:it's%20%40%2050%25%2F%3F%23@h/d?options=-c+statement_timeout%3D0")
    expect(decodeURIComponent(new URL(url).password)).toBe("it's @ 50%/?#")
    expect(connectionParam(url, "options")).toBe("-c statement_timeout=0")
  })

  it("gives several hosts their ports, an IPv6 host brackets and a socket directory the host parameter", () => {
    expect(connectionUrl("host=a,b port=5432,5433 dbname=db target_session_attrs=read-write")).toBe(
      "postgresql://a:5432,b:5433/db?target_session_attrs=read-write"
    )
    expect(connectionUrl("host=a,b port=6000 dbname=db")).toBe("postgresql://a:6000,b:6000/db")
    expect(connectionUrl("host=::1 port=5432 dbname=db")).toBe("postgresql://[::1]:5432/db")
    expect(connectionUrl("host=/run/postgresql port=5433 dbname=db user=u")).toBe(
      "postgresql://u@/db?host=%2Frun%2Fpostgresql&port=5433"
    )
    expect(connectionUrl("dbname=db port=5433")).toBe("postgresql://localhost:5433/db")
  })

  it("returns URLs and strings that are not keyword/value pairs unchanged", () => {
    for (const s of ["postgres://u@h/db?sslmode=require", "POSTGRESQL://h/db", "/tmp", "host=h dbname='unterminated"]) {
      expect(connectionUrl(s)).toBe(s)
    }
  })
})
