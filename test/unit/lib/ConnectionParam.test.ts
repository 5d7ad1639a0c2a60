import { describe, expect, it } from "@effect/vitest"
import { connectionParam } from "../../../src/lib/ConnectionParam.js"
import { describeTarget } from "../../../src/source/SourceHosts.js"

describe("connectionParam", () => {
  it("reads a parameter of a URL, several hosts included", () => {
    expect(connectionParam("postgres://u:p@h:5432/db?sslmode=require&connect_timeout=3", "connect_timeout")).toBe("3")
    expect(connectionParam("postgresql://u@a:1,b:2/db?application_name=x%20y#frag", "application_name")).toBe("x y")
    expect(connectionParam("postgres://u@h/db", "connect_timeout")).toBeUndefined()
  })

  it("reads a keyword/value string, quoted values included", () => {
    const s = "host=a,b port=5432,5433 dbname='my db' password='it\\'s' connect_timeout=4"
    expect(connectionParam(s, "dbname")).toBe("my db")
    expect(connectionParam(s, "password")).toBe("it's")
    expect(connectionParam(s, "port")).toBe("5432,5433")
    expect(connectionParam(s, "connect_timeout")).toBe("4")
    expect(connectionParam(s, "sslmode")).toBeUndefined()
    expect(connectionParam("xhost=z", "host")).toBeUndefined()
  })

  it("names a keyword/value target without its credentials", () => {
    expect(describeTarget("host=db1 port=5433 dbname=app user=u password=secret")).toBe("db1:5433/app")
    expect(describeTarget("dbname=app")).toBe("localhost:5432/app")
  })
})
