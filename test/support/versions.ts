import { SUPPORTED_VERSIONS, type PgVersion } from "./PgServer.js"

/** Postgres majors the replication tests run on: WALFERRY_PG_VERSIONS (comma list), default 13,15,17 */
export const testVersions = (): Array<PgVersion> => {
  const raw = process.env.WALFERRY_PG_VERSIONS ?? "13,15,17"
  const versions = raw
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0)
  for (const v of versions) {
    if (!(SUPPORTED_VERSIONS as ReadonlyArray<number>).includes(v)) {
      throw new Error(`WALFERRY_PG_VERSIONS: ${v} is not one of ${SUPPORTED_VERSIONS.join(",")}`)
    }
  }
  return versions as Array<PgVersion>
}

/** the newest version under test, used where one server is enough (destination, single-source cases) */
export const latestVersion = (): PgVersion => testVersions().reduce((a, b) => (a > b ? a : b))
