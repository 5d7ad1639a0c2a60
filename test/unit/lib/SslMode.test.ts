import { describe, expect, it } from "@effect/vitest"
import { libpqSslMode } from "../../../src/lib/SslMode.js"

describe("libpqSslMode", () => {
  it("makes require and prefer encrypt without verifying, as libpq does", () => {
    expect(libpqSslMode("postgres://u:p@h:5432/db?sslmode=require")).toBe(
      "postgres://u:p@h:5432/db?sslmode=require&uselibpqcompat=true"
    )
    expect(libpqSslMode("postgres://h/db?connect_timeout=5&sslmode=prefer")).toBe(
      "postgres://h/db?connect_timeout=5&sslmode=prefer&uselibpqcompat=true"
    )
    expect(libpqSslMode("postgres://h/db?sslmode=verify-ca&sslrootcert=/ca.pem")).toBe(
      "postgres://h/db?sslmode=verify-ca&sslrootcert=/ca.pem&uselibpqcompat=true"
    )
  })

  it("keeps a fragment, several hosts and a trailing separator intact", () => {
    expect(libpqSslMode("postgresql://u@a:5432,b:5433/db?sslmode=require#x")).toBe(
      "postgresql://u@a:5432,b:5433/db?sslmode=require&uselibpqcompat=true#x"
    )
    expect(libpqSslMode("postgres://h/db?sslmode=prefer&")).toBe("postgres://h/db?sslmode=prefer&uselibpqcompat=true")
  })

  it("reads allow as plain text, libpq's first try", () => {
    expect(libpqSslMode("postgres://h/db?sslmode=allow&application_name=x")).toBe(
      "postgres://h/db?sslmode=disable&application_name=x"
    )
  })

  it("reads any mode on a Unix socket as plain text, as libpq ignores sslmode there", () => {
    expect(libpqSslMode("postgres://u@%2Ftmp%2Fpg:5433/db?sslmode=require")).toBe(
      "postgres://u@%2Ftmp%2Fpg:5433/db?sslmode=disable"
    )
    expect(libpqSslMode("postgres://u@/db?host=/run/postgresql&sslmode=prefer")).toBe(
      "postgres://u@/db?host=/run/postgresql&sslmode=disable"
    )
  })

  it("reads libpq 16's sslrootcert=system as verify-full on the trusted CAs", () => {
    expect(libpqSslMode("postgres://h/db?sslrootcert=system")).toBe("postgres://h/db?sslmode=verify-full")
    expect(libpqSslMode("postgres://h/db?sslrootcert=system&sslmode=require&application_name=a")).toBe(
      "postgres://h/db?sslmode=verify-full&application_name=a"
    )
    expect(libpqSslMode("postgres://h/db?sslmode=verify-full&sslrootcert=system#f")).toBe(
      "postgres://h/db?sslmode=verify-full#f"
    )
  })

  it("takes PGSSLMODE when the URL has no sslmode, as libpq does", () => {
    const before = process.env.PGSSLMODE
    try {
      process.env.PGSSLMODE = "require"
      expect(libpqSslMode("postgres://h/db")).toBe("postgres://h/db?sslmode=require&uselibpqcompat=true")
      expect(libpqSslMode("postgres://h/db?sslmode=disable")).toBe("postgres://h/db?sslmode=disable")
      process.env.PGSSLMODE = "disable"
      expect(libpqSslMode("postgres://h/db")).toBe("postgres://h/db?sslmode=disable")
    } finally {
      if (before === undefined) delete process.env.PGSSLMODE
      else process.env.PGSSLMODE = before
    }
  })

  it("leaves verify-full, disable, no-verify, no sslmode and the user's own uselibpqcompat alone", () => {
    for (const url of [
      "postgres://h/db",
      "postgres://h/db?sslmode=verify-full",
      "postgres://h/db?sslmode=disable",
      "postgres://h/db?sslmode=no-verify",
      "postgres://h/db?sslmode=require&uselibpqcompat=false",
      "host=h dbname=db sslmode=require"
    ]) {
      expect(libpqSslMode(url)).toBe(url)
    }
  })
})
