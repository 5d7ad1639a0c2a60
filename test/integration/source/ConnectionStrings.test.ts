/**
 * Connection strings as users write them for libpq, psql and pgx (kuvasz-streamer), on a real server listening
 * on 127.0.0.1 and ::1: the keyword/value form (quoted password, several hosts), an IPv6 host in brackets, and
 * the same through walferry's source connection and its primary lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { openClient } from "../../../src/lib/openClient.js"
import { primaryOf } from "../../../src/source/SourceHosts.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

const PASSWORD = "it's @ 50%/?#"

/** address and user of the session `connection` opens, through walferry's own client */
const whoAmI = async (connection: string) => {
  const client = await openClient({ connectionString: connection })
  try {
    const { rows } = await client.query<{ addr: string; usr: string; db: string }>(
      "select host(inet_server_addr()) addr, current_user usr, current_database() db"
    )
    return rows[0]
  } finally {
    await client.end()
  }
}

describe("connection strings", () => {
  let server: TestPg

  beforeAll(async () => {
    server = await startTestPg({
      version: latestVersion(),
      settings: { listen_addresses: "127.0.0.1,::1", password_encryption: "scram-sha-256" }
    })
    await server.createDatabase("my db")
    await server.query(`create role "odd user" login password '${PASSWORD.replace(/'/g, "''")}'`)
    // that role must give its password (the server trusts every other local login)
    const hba = join(server.dataDir, "pg_hba.conf")
    writeFileSync(hba, `host all "odd user" 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, "utf8")}`)
    await server.query("select pg_reload_conf()")
  }, 120_000)

  afterAll(async () => {
    await server?.stop()
  })

  it("connects with libpq's keyword/value form, quoted values included", async () => {
    const port = server.port
    expect(await whoAmI(`host=127.0.0.1 port=${port} dbname='my db' user=postgres`)).toEqual({
      addr: "127.0.0.1",
      usr: "postgres",
      db: "my db"
    })
    const quoted = PASSWORD.replace(/\\/g, "\\\\").replace(/'/g, "\\'")
    expect(await whoAmI(`host=127.0.0.1 port=${port} dbname=postgres user='odd user' password='${quoted}'`)).toEqual({
      addr: "127.0.0.1",
      usr: "odd user",
      db: "postgres"
    })
    await expect(whoAmI(`host=127.0.0.1 port=${port} dbname=postgres user='odd user' password='it'`)).rejects.toThrow(
      /password authentication failed/
    )
  })

  it("connects to an IPv6 host given in brackets or as a keyword", async () => {
    const port = server.port
    expect((await whoAmI(`postgres://postgres@[::1]:${port}/postgres`))?.addr).toBe("::1")
    expect((await whoAmI(`host=::1 port=${port} dbname=postgres user=postgres`))?.addr).toBe("::1")
  })

  it("finds the primary among several hosts written in the keyword/value form", async () => {
    const port = server.port
    const primary = await primaryOf(`host=127.0.0.1,::1 port=1,${port} dbname=postgres user=postgres`)
    expect(primary).toBe(`postgresql://postgres@[::1]:${port}/postgres?sslmode=disable`) // ssl = off: prefer settled
    expect((await whoAmI(primary))?.addr).toBe("::1")
  })
})
