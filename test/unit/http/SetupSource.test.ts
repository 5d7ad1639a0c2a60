/**
 * The setup wizard's source: a password typed apart goes into the URL so that the Postgres driver reads it back
 * exactly (special characters included), the group name defaults to the URL's database, and bad URLs are named.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { parse } from "pg-connection-string"
import { resolveSource } from "../../../src/http/console/Setup.js"

const resolve = (url: string, password?: string, database?: string) =>
  Effect.runSync(Effect.either(resolveSource({ url, password, database, sid: "" })))

describe("setup source", () => {
  it("puts a password with special characters into the URL as the driver reads it", () => {
    for (const password of ["p@ss:w/rd%41?#", "ünïcode €", "a+b=c&d$"]) {
      const r = resolve("postgres://app@db.example:5433/shop?sslmode=require", password)
      expect(Either.isRight(r)).toBe(true)
      const parsed = parse(Either.getOrThrow(r).url)
      expect(parsed).toMatchObject({ user: "app", password, host: "db.example", port: "5433", database: "shop" })
    }
  })

  it("keeps the URL's own password unless one is typed, and names the group after the database", () => {
    const r = Either.getOrThrow(resolve("postgresql://app:inurl@h/my%20db"))
    expect(parse(r.url).password).toBe("inurl")
    expect(r.database).toBe("my db")
    expect(Either.getOrThrow(resolve("postgres://app@h/shop", "", "orders_db")).database).toBe("orders_db")
  })

  it("takes libpq's keyword/value form as the URL it stands for", () => {
    const r = Either.getOrThrow(resolve("host=db.example port=5433 dbname=shop user=app sslmode=require", "p w'@"))
    expect(parse(r.url)).toMatchObject({ user: "app", password: "p w'@", host: "db.example", port: "5433" })
    expect(parse(r.url)).toMatchObject({ database: "shop", sslmode: "require" })
    expect(r.database).toBe("shop")
  })

  it("names what is wrong with the URL", () => {
    const fields = ["not a url", "mysql://u@h/db", "postgres://u@h"].map((u) => {
      const r = resolve(u)
      return Either.isLeft(r) ? `${r.left.field}: ${r.left.error}` : "accepted"
    })
    expect(fields).toEqual([
      "url: url: not a connection string (postgres://user@host:port/database or host=… dbname=…)",
      "url: url: must start with postgres:// or postgresql://",
      "url: url: names no database (…/database at the end)"
    ])
  })
})
