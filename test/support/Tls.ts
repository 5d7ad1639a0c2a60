import { execFileSync } from "node:child_process"
import { chmodSync, chownSync, statSync } from "node:fs"
import { join } from "node:path"
import type { TestPg } from "./Pg.js"
import { waitFor } from "./engine.js"

/** a self-signed certificate for CN=127.0.0.1 in the data directory, owned by the server's user, and ssl = on; returns the certificate's path */
export const enableTls = async (server: TestPg): Promise<string> => {
  const crt = join(server.dataDir, "server.crt")
  const key = join(server.dataDir, "server.key")
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"].concat([
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      key,
      "-out",
      crt
    ]),
    { stdio: "pipe" }
  )
  const owner = statSync(server.dataDir)
  for (const f of [crt, key]) chownSync(f, owner.uid, owner.gid)
  chmodSync(key, 0o600)
  await server.query("alter system set ssl = on")
  await server.query("select pg_reload_conf()")
  await waitFor("ssl on", async () => (await server.query("show ssl"))[0].ssl === "on")
  return crt
}

/** `url` with `param` (k=v) added to its query */
export const withUrlParam = (url: string, param: string): string => `${url}${url.includes("?") ? "&" : "?"}${param}`
