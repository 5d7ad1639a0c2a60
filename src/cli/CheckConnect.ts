/**
 * Connections for `walferry check`: a short connect timeout, always closed with the scope, and failures
 * explained in words (refused, unknown host, bad password, missing database). Nothing returned here ever
 * contains the password: URLs are shown masked and error texts are scrubbed of it.
 */
import { Data, Effect, Redacted, type Scope } from "effect"
import type pg from "pg"
import { openClient } from "../lib/openClient.js"

export const CONNECT_TIMEOUT_MS = 5_000
const STATEMENT_TIMEOUT_MS = 30_000
export const APPLICATION_NAME = "walferry check"

export class ConnectFailed extends Data.TaggedError("ConnectFailed")<{
  readonly message: string
  readonly code: string | undefined
}> {}

/** `postgres://user:***@host:port/db`: the password (also a `password=` parameter) replaced by *** */
export const maskUrl = (url: string): string => {
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = "***"
    for (const key of ["password", "sslpassword"]) if (u.searchParams.has(key)) u.searchParams.set(key, "***")
    return u.toString()
  } catch {
    return url.replace(/(password\s*=\s*)('[^']*'|\S+)/gi, "$1***")
  }
}

const passwordsOf = (url: string): Array<string> => {
  try {
    const u = new URL(url)
    const raw = [u.password, u.searchParams.get("password") ?? "", u.searchParams.get("sslpassword") ?? ""]
    return raw.flatMap((p) => [p, safeDecode(p)]).filter((p) => p.length > 0)
  } catch {
    return [...url.matchAll(/password\s*=\s*'?([^\s']+)/gi)].map((m) => m[1] ?? "").filter((p) => p.length > 0)
  }
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** `text` with every occurrence of the URL's password replaced by *** */
export const scrub = (text: string, url: string): string =>
  passwordsOf(url).reduce((acc, p) => acc.split(p).join("***"), text)

interface Endpoint {
  readonly host: string
  readonly port: string
  readonly user: string
  readonly database: string
}

export const endpointOf = (url: string): Endpoint => {
  try {
    const u = new URL(url)
    const user = safeDecode(u.username) || "postgres"
    const database = safeDecode(u.pathname.slice(1)) || user
    return { host: u.hostname || "localhost", port: u.port || "5432", user, database }
  } catch {
    const field = (key: string) => new RegExp(`(?:^|\\s)${key}\\s*=\\s*'?([^\\s']*)`).exec(url)?.[1]
    const user = field("user") ?? "postgres"
    return {
      host: field("host") ?? "localhost",
      port: field("port") ?? "5432",
      user,
      database: field("dbname") ?? user
    }
  }
}

const codeOf = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === "string" ? code : undefined
}

/** why a connection attempt failed, in words, without the password */
export const describeConnectError = (cause: unknown, url: string): string => {
  const { host, port, user, database } = endpointOf(url)
  const text = scrub(cause instanceof Error ? cause.message : String(cause), url)
  switch (codeOf(cause)) {
    case "ECONNREFUSED":
      return `connection refused by ${host}:${port}: no Postgres listening there (server down, wrong port, or listen_addresses)`
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host "${host}" not found (DNS lookup failed)`
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `host ${host} is unreachable (network or firewall)`
    case "ETIMEDOUT":
      return `no answer from ${host}:${port} within ${CONNECT_TIMEOUT_MS / 1000} s (wrong host, firewall, or server overloaded)`
    case "28P01":
      return `password authentication failed for user "${user}": wrong password (or wrong user)`
    case "28000":
      return `authentication failed for user "${user}": the server rejects this login (${text})`
    case "3D000":
      return `database "${database}" does not exist on ${host}:${port}`
    case "53300":
      return `${host}:${port} accepts no more connections (${text})`
    case "57P03":
      return `${host}:${port} is starting up, shutting down or in recovery (${text})`
  }
  if (/timeout/i.test(text)) {
    return `no answer from ${host}:${port} within ${CONNECT_TIMEOUT_MS / 1000} s (wrong host, firewall, or server overloaded)`
  }
  if (/certificate|self[- ]signed|altnames/i.test(text)) {
    return `${host}:${port}'s TLS certificate fails verification (${text}): give its CA with sslrootcert=<file> (and sslmode=verify-ca if the host name differs), or sslmode=require to encrypt without checking it`
  }
  if (/does not support SSL/i.test(text)) {
    return `${host}:${port} does not offer TLS (ssl = off): sslmode=prefer or disable connects in plain text`
  }
  if (/password must be a string|no password/i.test(text)) {
    return `authentication failed for user "${user}": the server asks for a password but the URL has none`
  }
  return `cannot connect to ${host}:${port}: ${text}`
}

/** a connected client, closed when the scope closes; `replication` opens a logical walsender connection */
export const connect = (
  url: Redacted.Redacted<string>,
  options: { readonly replication?: boolean } = {}
): Effect.Effect<pg.Client, ConnectFailed, Scope.Scope> => {
  const connectionString = Redacted.value(url)
  const config: pg.ClientConfig & { replication?: string } = {
    connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: APPLICATION_NAME,
    ...(options.replication === true ? { replication: "database" } : {})
  }
  return Effect.acquireRelease(
    Effect.tryPromise({
      try: () => openClient(config),
      catch: (cause) =>
        new ConnectFailed({ message: describeConnectError(cause, connectionString), code: codeOf(cause) })
    }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  )
}
