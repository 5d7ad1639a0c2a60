/**
 * libpq's keyword/value connection strings (`host=a,b port=5432 dbname=app user=u sslmode=require`), which psql
 * and pgx (kuvasz-streamer) accept and node-postgres reads as a database name, as the equivalent URL. Every
 * keyword besides host, port, dbname, user and password becomes a query parameter; a Unix socket directory
 * is the `host` parameter. A string that is already a URL, or that does not parse, is returned as it is.
 */
import { keywordPairs, URL_FORM } from "./ConnectionParam.js"

const hostPort = (host: string, port: string | undefined) =>
  `${host.includes(":") ? `[${host}]` : encodeURIComponent(host)}${port === undefined || port === "" ? "" : `:${port}`}`

/** `connection` as a postgresql:// URL */
export const connectionUrl = (connection: string): string => {
  const trimmed = connection.trim()
  if (URL_FORM.test(trimmed) || !trimmed.includes("=")) return connection
  const pairs = keywordPairs(trimmed)
  if (pairs === undefined) return connection
  const take = (key: string) => {
    const v = pairs.get(key)
    pairs.delete(key)
    return v === "" ? undefined : v
  }
  const [host, port, dbname, user, password] = ["host", "port", "dbname", "user", "password"].map(take)
  const hosts = host?.split(",") ?? []
  const ports = port?.split(",") ?? []
  let authority = ""
  if (hosts.length > 0 && hosts.every((h) => h.startsWith("/"))) {
    pairs.set("host", hosts[0]!)
    if (ports[0] !== undefined) pairs.set("port", ports[0])
  } else if (hosts.length > 0) {
    authority = hosts.map((h, i) => hostPort(h, ports[i] ?? ports[0])).join(",")
  } else if (ports[0] !== undefined) {
    authority = `localhost:${ports[0]}`
  }
  const userinfo =
    user === undefined && password === undefined
      ? ""
      : `${encodeURIComponent(user ?? "")}${password === undefined ? "" : `:${encodeURIComponent(password)}`}@`
  const query = new URLSearchParams([...pairs]).toString()
  return `postgresql://${userinfo}${authority}/${encodeURIComponent(dbname ?? "")}${query === "" ? "" : `?${query}`}`
}
