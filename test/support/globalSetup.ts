import { startPgServer, type PgVersion } from "./PgServer.js"
import { testVersions } from "./versions.js"

/** builds the initdb template of every version under test once, before test files run in parallel */
export default async function setup() {
  if (process.env.WALFERRY_TEST_PG_URL) return
  const versions = new Set<PgVersion>([...testVersions(), 17])
  for (const v of versions) {
    const s = await startPgServer({ version: v })
    await s.stop()
  }
}
