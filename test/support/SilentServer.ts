/**
 * A TCP server that accepts connections and never answers (a half-dead host, a proxy whose backend is gone):
 * what a client or walferry meets when a connection attempt can only end by its own timeout.
 */
import net from "node:net"
import { startTestPg, type TestPg } from "./Pg.js"
import { latestVersion } from "./versions.js"

export interface SilentServer {
  readonly port: number
  /** connections currently open to it */
  readonly connections: () => number
  readonly close: () => Promise<void>
}

export const startSilentServer = async (): Promise<SilentServer> => {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((r) => server.close(r))
    }
  }
}

export interface SilentSource {
  readonly silent: SilentServer
  /** a destination with database `dest` and table `t (id int primary key)` */
  readonly dest: TestPg
  readonly stop: () => Promise<void>
}

/** a silent server for the source, a real destination for the rest */
export const silentSourceAndDestination = async (): Promise<SilentSource> => {
  const silent = await startSilentServer()
  const dest = await startTestPg({ version: latestVersion() })
  await dest.createDatabase("dest")
  await dest.query("create table t (id int primary key)", [], "dest")
  return {
    silent,
    dest,
    stop: async () => {
      await silent.close()
      await dest.stop()
    }
  }
}
