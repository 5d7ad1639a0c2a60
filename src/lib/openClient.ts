import pg from "pg"
import { onPrimary } from "../source/SourceHosts.js"
import { connectConfig } from "./ConnectConfig.js"
import { setupOrigin } from "./ReplicationOrigin.js"

/** a client configuration; `replicationOrigin`: the session applies changes under that origin */
export interface DbConfig extends pg.ClientConfig {
  readonly replicationOrigin?: string
}

/**
 * Connects a node-postgres client. Errors of an idle connection are swallowed (they surface on the next
 * query instead of crashing the process); a failed connect closes the client before rethrowing.
 */
export const openClient = async (config: DbConfig): Promise<pg.Client> => {
  const { replicationOrigin, ...clientConfig } = config
  const client = new pg.Client(connectConfig(await onPrimary(clientConfig)))
  client.on("error", () => undefined)
  try {
    await client.connect()
    if (replicationOrigin !== undefined) await setupOrigin(client, replicationOrigin)
  } catch (e) {
    await client.end().catch(() => undefined)
    throw e
  }
  return client
}
