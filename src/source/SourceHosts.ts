/**
 * Source URLs naming several hosts, as libpq accepts them: `postgres://u:p@a:5432,b:5433/db?...` and
 * `host=a,b port=5432,5433 dbname=db ...`. node-postgres connects to one host only, so walferry expands such a
 * URL into one single-host URL per host and picks the primary itself (the first host that answers and is not
 * in recovery), whatever `target_session_attrs` says. Single-host URLs pass through unchanged.
 */
import { Effect, Redacted } from "effect"
import { primaryWait } from "../flow/Policies.js"
import { connectionParam } from "../lib/ConnectionParam.js"
import { connectConfig } from "../lib/ConnectConfig.js"
import pg from "pg"
import { describeCause, SourceUnreachable, type SourceRef } from "./SourceErrors.js"
import { resolvePrefer } from "../lib/SslMode.js"
import { connectionUrl } from "../lib/ConnectionUrl.js"

/** `host:port/dbname` of a connection string, without credentials */
export const describeTarget = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.hostname}${u.port === "" ? "" : `:${u.port}`}${u.pathname === "/" ? "" : u.pathname}`
  } catch {
    const field = (key: string) => connectionParam(url, key)
    return `${field("host") ?? "localhost"}:${field("port") ?? "5432"}/${field("dbname") ?? ""}`
  }
}

const SCHEME = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/i

/** one URL per host (libpq order); `[url]` when it names at most one */
export const expandHosts = (url: string): ReadonlyArray<string> => {
  const m = SCHEME.exec(url)
  if (m !== null) {
    const [, scheme, authority, rest] = m as unknown as [string, string, string, string]
    const at = authority.lastIndexOf("@")
    const userinfo = at < 0 ? "" : authority.slice(0, at + 1)
    const hosts = (at < 0 ? authority : authority.slice(at + 1)).split(",")
    if (hosts.length < 2) return [url]
    const query = rest.replace(/([?&])target_session_attrs=[^&#]*&?/, "$1").replace(/[?&]$/, "")
    return hosts.map((h) => `${scheme}${userinfo}${h}${query}`)
  }
  const field = (key: string) => new RegExp(`(^|\\s)${key}\\s*=\\s*('[^']*'|\\S*)`)
  const hostMatch = field("host").exec(url)
  if (hostMatch === null) return [url]
  const hosts = hostMatch[2]!.replace(/^'|'$/g, "").split(",")
  if (hosts.length < 2) return [url]
  const portMatch = field("port").exec(url)
  const ports = portMatch === null ? [] : portMatch[2]!.replace(/^'|'$/g, "").split(",")
  return hosts.map((h, i) => {
    const port = ports.length === 0 ? undefined : (ports[i] ?? ports[0])
    let one = url.replace(field("host"), `$1host=${h}`).replace(field("target_session_attrs"), "$1")
    if (port !== undefined) one = portMatch === null ? one : one.replace(field("port"), `$1port=${port}`)
    return one.trim()
  })
}

/**
 * the first host that accepts a connection and is not in recovery, as a single-host URL (rejects when none is);
 * `sslmode=prefer` settled against that host (SslMode): a host that cannot be asked rejects at once, within
 * `timeoutMs` when given (else the URL's connect_timeout)
 */
export const primaryOf = async (connection: string, timeoutMs?: number): Promise<string> => {
  const url = connectionUrl(connection)
  const candidates = expandHosts(url)
  if (candidates.length < 2) return resolvePrefer(url, { strict: true, timeoutMs })
  const reasons: Array<string> = []
  for (const host of candidates) {
    let client: pg.Client | undefined
    try {
      const candidate = await resolvePrefer(host, { strict: true, timeoutMs: 5_000 })
      client = new pg.Client(connectConfig({ connectionString: candidate, connectionTimeoutMillis: 5_000 }))
      client.on("error", () => undefined)
      await client.connect()
      const { rows } = await client.query<{ r: boolean }>("select pg_is_in_recovery() as r")
      if (rows[0]?.r === false) return candidate
      reasons.push(`${describeTarget(host)} is a standby`)
    } catch (e) {
      reasons.push(`${describeTarget(host)}: ${describeCause(e)}`)
    } finally {
      await client?.end().catch(() => undefined)
    }
  }
  throw new Error(`no primary among its hosts (${reasons.join("; ")})`)
}

/** `config` with its connection string replaced by its primary's (primaryOf, within the config's timeout) */
export const onPrimary = async <
  C extends { readonly connectionString?: string | undefined; readonly connectionTimeoutMillis?: number | undefined }
>(
  config: C
): Promise<C> =>
  config.connectionString === undefined
    ? config
    : { ...config, connectionString: await primaryOf(config.connectionString, config.connectionTimeoutMillis) }

/** a connected client on the source's primary (for code outside the reader that reads the source's catalog) */
export const connectPrimary = async (url: string): Promise<pg.Client> => {
  const client = new pg.Client(connectConfig({ connectionString: await primaryOf(url) }))
  client.on("error", () => undefined)
  try {
    await client.connect()
  } catch (e) {
    await client.end().catch(() => undefined)
    throw e
  }
  return client
}

const findPrimary = (url: Redacted.Redacted<string>, ref: SourceRef) =>
  Effect.tryPromise({
    try: () => primaryOf(Redacted.value(url)).then(Redacted.make),
    catch: (e) =>
      new SourceUnreachable({
        database: ref.database,
        sid: ref.sid,
        target: expandHosts(Redacted.value(url)).map(describeTarget).join(","),
        reason: describeCause(e)
      })
  })

/**
 * the source's primary now, as a single-host URL; `wait`: while no host is primary (a promotion under way) it
 * looks again (primaryWait) before failing
 */
export const resolvePrimary = (
  url: Redacted.Redacted<string>,
  ref: SourceRef,
  wait = false
): Effect.Effect<Redacted.Redacted<string>, SourceUnreachable> =>
  wait && expandHosts(Redacted.value(url)).length > 1
    ? Effect.retry(findPrimary(url, ref), primaryWait)
    : findPrimary(url, ref)
