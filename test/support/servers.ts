/**
 * The usual multi-version setup: one embedded source per Postgres version under test, each with the same
 * database and schema, and one destination server of the newest version with its own database.
 */
import { startTestPg, type TestPg } from "./Pg.js"
import type { PgVersion } from "./PgServer.js"
import { latestVersion, testVersions } from "./versions.js"

export interface SourcesAndDestination {
  readonly sources: Array<TestPg>
  readonly dest: TestPg
}

export interface ServersOptions {
  /** the database created on every source */
  readonly database: string
  /** run in that database on every source (a function gets the source, for version-dependent SQL) */
  readonly sourceSql?: string | ((source: TestPg) => string)
  /** the destination database, "dest" unless named */
  readonly destDatabase?: string
  readonly destSql?: string
  readonly versions?: ReadonlyArray<PgVersion>
}

export const startSourcesAndDestination = async (options: ServersOptions): Promise<SourcesAndDestination> => {
  const versions = options.versions ?? testVersions()
  const started = await Promise.all([
    ...versions.map((version) => startTestPg({ version })),
    startTestPg({ version: latestVersion() })
  ])
  const dest = started.pop()!
  await Promise.all(
    started.map(async (source) => {
      await source.createDatabase(options.database)
      const sql = typeof options.sourceSql === "function" ? options.sourceSql(source) : options.sourceSql
      if (sql !== undefined) await source.query(sql, [], options.database)
    })
  )
  const destDatabase = options.destDatabase ?? "dest"
  await dest.createDatabase(destDatabase)
  if (options.destSql !== undefined) await dest.query(options.destSql, [], destDatabase)
  return { sources: started, dest }
}

/** stops every server of a setup, tolerating ones that never started */
export const stopServers = (sources: ReadonlyArray<TestPg>, dest: TestPg | undefined): Promise<unknown> =>
  Promise.all([...sources.map((s) => s.stop()), dest?.stop()])
