/**
 * The console's setup wizard (`map_mode: database`, empty mapping): the preflight of one source URL against
 * walferry's own destination (`walferry check`'s findings, each stating its fix, and the source's tables with row
 * estimates and keys), and the start, which stores the group, its URL and the picked tables in one transaction and
 * puts them in effect (the tables are copied online, then stream). The password may come apart from the URL; it is
 * stored with the URL and never answered: URLs come back masked and every message is scrubbed of it.
 */
import { Effect, Redacted } from "effect"
import { runCheck } from "../../cli/Check.js"
import { scrub } from "../../cli/CheckConnect.js"
import type { SourceGroup, TableMode, WalferryConfig } from "../../config/Config.js"
import { run, storedTable, transaction } from "../../mapping/MapStore.js"
import { changeStore } from "../../mapping/StoredMapping.js"
import { maskUrl, redactSecrets } from "../../telemetry/Logging.js"
import { BadRequest, Conflict } from "../ApiError.js"
import { listSourceTables } from "./SourceTables.js"
import { connectionUrl } from "../../lib/ConnectionUrl.js"

export interface SetupSource {
  readonly url: string
  readonly password?: string | undefined
  /** the database group's name (default: the URL's database) */
  readonly database?: string | undefined
  readonly sid: string
}

export interface SetupTable {
  readonly schema: string
  readonly name: string
  readonly mode: TableMode
  readonly target?: string | undefined
}

const badRequest = (field: string, error: string) =>
  new BadRequest({ code: "invalid_input", error: `${field}: ${error}`, field })

/** the URL (libpq's keyword/value form written as one) with the password put in, and the group name */
export const resolveSource = (input: SetupSource) =>
  Effect.gen(function* () {
    let url: URL
    try {
      url = new URL(connectionUrl(input.url))
    } catch {
      return yield* Effect.fail(
        badRequest("url", "not a connection string (postgres://user@host:port/database or host=… dbname=…)")
      )
    }
    if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
      return yield* Effect.fail(badRequest("url", "must start with postgres:// or postgresql://"))
    if (input.password !== undefined && input.password !== "") url.password = encodeURIComponent(input.password)
    const fromUrl = decodeURIComponent(url.pathname.replace(/^\//, ""))
    const database = input.database !== undefined && input.database !== "" ? input.database : fromUrl
    if (database === "") return yield* Effect.fail(badRequest("url", "names no database (…/database at the end)"))
    return { url: url.toString(), database }
  })

/** every trace of the password (in the URL or typed apart) out of a text */
const hide = (url: string, password: string | undefined) => (text: string) => {
  const scrubbed = redactSecrets(scrub(text, url))
  return password !== undefined && password.length >= 3 ? scrubbed.split(password).join("***") : scrubbed
}

const groupOf = (
  config: WalferryConfig,
  source: { url: string; database: string },
  sid: string,
  tables: ReadonlyArray<SetupTable>
): SourceGroup => ({
  database: source.database,
  urls: [{ url: Redacted.make(source.url), sid }],
  tables: tables.map((t) =>
    storedTable(config, { ...t, type: t.mode, target: t.target ?? t.name, partitions_regex: null })
  )
})

/** `walferry check` on the source and the destination, and the source's tables; never fails on the databases */
export const preflight = (config: WalferryConfig, input: SetupSource, tables: ReadonlyArray<SetupTable>) =>
  Effect.gen(function* () {
    const source = yield* resolveSource(input)
    const clean = hide(source.url, input.password)
    const group = groupOf(config, source, input.sid, tables)
    const [report, listed] = yield* Effect.all(
      [runCheck({ ...config, sources: [group] }), Effect.either(listSourceTables(Redacted.make(source.url)))],
      { concurrency: 2 }
    )
    const findings = report.findings.map((f) => ({
      severity: f.severity,
      side: f.side,
      table: f.table ?? null,
      message: clean(f.message)
    }))
    return {
      database: source.database,
      url: maskUrl(source.url),
      destination: maskUrl(Redacted.value(config.destination.url)),
      ready: !findings.some((f) => f.severity === "error"),
      findings,
      tables: listed._tag === "Right" ? listed.right : [],
      problem: listed._tag === "Left" ? clean(listed.left.message) : null
    }
  })

/** stores the group, its URL and the tables (refused when the mapping already has tables), then in effect */
export const startSetup = (input: SetupSource, tables: ReadonlyArray<SetupTable>) =>
  Effect.gen(function* () {
    const source = yield* resolveSource(input)
    if (tables.length === 0) return yield* Effect.fail(badRequest("tables", "pick at least one table"))
    yield* changeStore((c) =>
      transaction(
        c,
        Effect.gen(function* () {
          const existing = yield* run<{ n: number }>(c, "select count(*)::int as n from walferry.map_tbl")
          if ((existing[0]?.n ?? 0) > 0)
            return yield* Effect.fail(
              new Conflict({ code: "conflict", error: "the mapping is set up already: change it on the mapping page" })
            )
          const db = yield* run<{ id: number }>(
            c,
            `insert into walferry.map_db (name) values ($1)
             on conflict (name) do update set name = excluded.name returning id`,
            [source.database]
          )
          const dbId = db[0]!.id
          yield* run(
            c,
            `insert into walferry.map_url (db_id, sid, url) values ($1, $2, $3)
             on conflict (db_id, sid) do update set url = excluded.url`,
            [dbId, input.sid, source.url]
          )
          for (const t of tables)
            yield* run(
              c,
              "insert into walferry.map_tbl (db_id, schema, name, type, target) values ($1, $2, $3, $4, $5)",
              [dbId, t.schema, t.name, t.mode, t.target ?? t.name]
            )
        })
      )
    )
    yield* Effect.logInfo(`API: setup stored ${tables.length} tables of ${source.database}, put in effect`)
    return { ok: true as const, database: source.database, url: maskUrl(source.url), tables: tables.length }
  })
