/**
 * How long walferry waits for a Postgres connection to be established (TCP, TLS, authentication) before the
 * attempt fails and is retried like any other connection failure: the URL's `connect_timeout` in seconds, as
 * libpq reads it (0: wait forever), else 15 s. node-postgres waits forever by default; a connection opened
 * while a resource is acquired (which cannot be interrupted) would then hold a shutdown forever, e.g. behind a
 * firewall that drops packets or a server that accepts and never answers.
 */
import { connectionParam } from "./ConnectionParam.js"

export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000

/** the connection string's `connect_timeout` (seconds) in ms, else the default */
export const connectTimeoutMs = (connectionString: string | undefined): number => {
  const raw = connectionString === undefined ? undefined : connectionParam(connectionString, "connect_timeout")
  if (raw === undefined || raw.trim() === "") return DEFAULT_CONNECT_TIMEOUT_MS
  const seconds = Number(raw)
  if (!Number.isFinite(seconds) || seconds < 0) return DEFAULT_CONNECT_TIMEOUT_MS
  // libpq: 0 waits forever, and anything below 2 s is taken as 2 s
  return seconds === 0 ? 0 : Math.max(2, Math.floor(seconds)) * 1000
}
