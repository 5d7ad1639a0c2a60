import { execFileSync } from "node:child_process"
import { startPgServer, type PgVersion } from "./PgServer.js"
import { testVersions } from "./versions.js"

/**
 * Once before the test files run in parallel: builds dist/ and the CLI's bundle, `npm run build` (tests that
 * start walferry as a real process run the built program, never a stale one) and builds the initdb template
 * of every version.
 */
export default async function setup() {
  execFileSync("npm", ["run", "--silent", "build"], { stdio: "inherit" })
  if (process.env.WALFERRY_TEST_PG_URL) return
  const versions = new Set<PgVersion>([...testVersions(), 17])
  for (const v of versions) {
    const s = await startPgServer({ version: v })
    await s.stop()
  }
}
