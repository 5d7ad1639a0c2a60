import pg from "pg"

/**
 * Connects a node-postgres client. Errors of an idle connection are swallowed (they surface on the next
 * query instead of crashing the process); a failed connect closes the client before rethrowing.
 */
export const openClient = async (config: pg.ClientConfig): Promise<pg.Client> => {
  const client = new pg.Client(config)
  client.on("error", () => undefined)
  try {
    await client.connect()
  } catch (e) {
    await client.end().catch(() => undefined)
    throw e
  }
  return client
}
