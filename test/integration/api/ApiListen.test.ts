/**
 * The API's address in use: walferry stops at once with an error naming `api.listen`, the address and the
 * cause, rather than the HTTP layer's bare "ServeError: An error has occurred".
 */
import { createServer, type Server } from "node:net"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { freePort } from "../../support/PgServer.js"
import { startWalferry, stopAllWalferry } from "../../support/WalferryProcess.js"

describe("api.listen", () => {
  let taken: Server | undefined

  afterAll(async () => {
    await stopAllWalferry()
    taken?.close()
  })

  it("in use: the process exits 1 naming the key, the address and EADDRINUSE", async () => {
    const port = await freePort()
    taken = createServer()
    await new Promise<void>((resolve) => taken!.listen(port, "127.0.0.1", resolve))
    const start = startWalferry({
      port,
      destination: "postgres://walferry@127.0.0.1:1/dwh",
      map: [
        { database: "shop", urls: [{ url: "postgres://walferry@127.0.0.1:1/shop", sid: "a" }], tables: { t: null } }
      ]
    })
    await expect(start).rejects.toThrow(
      new RegExp(
        `exited during start \\(code 1,[^]*ApiListenError: api\\.listen 127\\.0\\.0\\.1:${port}: listen EADDRINUSE`
      )
    )
  })
})
