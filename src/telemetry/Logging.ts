/**
 * Logging setup and secret masking. Every log line goes through `redactSecrets` before it is written, so a
 * driver error that quotes a connection string cannot leak its password.
 */
import { Layer, Logger, LogLevel } from "effect"
import type { LogConfig } from "../config/Config.js"

const MASK = "***"

const levels: Record<LogConfig["level"], LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error
}

export const toLogLevel = (level: LogConfig["level"]): LogLevel.LogLevel => levels[level]

/** `scheme://user:password@` anywhere in a text (password up to the next `@` or whitespace) */
const urlCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*):([^\s@]*)@/gi
/** `password=...` / `password: ...` / `"password":"..."` (libpq key=value DSNs, query params, JSON) */
const passwordPairs =
  /(\w*password(?:\\?")?\s*[=:]\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\\"(?:[^"\\]|\\[^"])*\\"|[^\s&,;"'}\\]+)/gi

/** keeps the quoting of a masked value: `"secret"` → `"***"` */
const maskPair = (_: string, key: string, value: string): string => {
  const quote = /^(\\"|"|')/.exec(value)?.[0] ?? ""
  return `${key}${quote}${MASK}${quote}`
}

/** Masks every `scheme://user:pass@` and `password=...` occurrence in arbitrary text (error messages, log lines). */
export const redactSecrets = (text: string): string =>
  text.replace(urlCredentials, `$1$2:${MASK}@`).replace(passwordPairs, maskPair)

/**
 * Hides the password of a connection string, keeping user, host, port, database and parameters:
 * `postgres://user:secret@host:5432/db?sslmode=require` → `postgres://user:***@host:5432/db?sslmode=require`,
 * `host=h password=secret dbname=d` → `host=h password=*** dbname=d`.
 */
export const maskUrl = (url: string): string => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)
  if (scheme === null) return url.replace(passwordPairs, `$1${MASK}`)
  const start = scheme[0].length
  const rest = url.slice(start)
  const queryAt = rest.search(/[?#]/)
  const authority = queryAt < 0 ? rest : rest.slice(0, queryAt)
  const at = authority.lastIndexOf("@")
  let masked = rest
  if (at >= 0) {
    const userinfo = rest.slice(0, at)
    const colon = userinfo.indexOf(":")
    if (colon >= 0) masked = `${userinfo.slice(0, colon)}:${MASK}${rest.slice(at)}`
  }
  masked = masked.replace(/([?&](?:ssl)?password=)[^&#]*/gi, `$1${MASK}`)
  return url.slice(0, start) + masked
}

const redacting = (logger: Logger.Logger<unknown, string>) => Logger.withConsoleLog(Logger.map(logger, redactSecrets))

/** Replaces Effect's default logger by a logfmt or JSON logger (secrets masked) and sets the minimum level. */
export const loggerLayer = (log: LogConfig): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, redacting(log.format === "json" ? Logger.jsonLogger : Logger.logfmtLogger)),
    Logger.minimumLogLevel(toLogLevel(log.level))
  )
