/**
 * libpq's meaning for a URL's `sslmode`, which kuvasz-streamer's map.yaml and most users' URLs are written for.
 * node-postgres 8 reads `prefer`, `require` and `verify-ca` as verify-full: a server whose certificate Node does
 * not trust (self-signed, a private CA, RDS without its bundle) is refused where libpq connects; and without
 * `sslmode` it never encrypts, so a server that accepts only TLS (RDS's rds.force_ssl, Azure's default) refuses
 * it. Here, as in libpq and pgx:
 * - no `sslmode`: `PGSSLMODE`, else `prefer` where the URL is resolved (resolvePrefer: every walferry connection;
 *   a bare connectConfig keeps node-postgres's plain text);
 * - `require` and `prefer`: TLS without verifying the certificate (with `sslrootcert`, `require` checks the
 *   chain like libpq's verify-ca); `prefer` against a server without TLS is plain text (`resolvePrefer` asks
 *   the server before connecting, as libpq's handshake does);
 * - `verify-ca`: the chain against `sslrootcert`, without the host name;
 * - `allow`, and any mode on a Unix socket: plain text, as libpq connects;
 * - `sslrootcert=system` (libpq 16): verify-full against the system's trusted CAs (Node's);
 * - `verify-full`, `disable`, `no-verify` and URLs that set `uselibpqcompat` themselves are left as they are.
 */
import { connect } from "node:net"
import { connect as tlsConnect } from "node:tls"
import { connectionParam, URL_FORM } from "./ConnectionParam.js"
import { connectTimeoutMs } from "./ConnectTimeout.js"
import { connectionUrl } from "./ConnectionUrl.js"

const AUTHORITY = /^postgres(?:ql)?:\/\/(?:[^@/?#]*@)?([^/?#]*)/i
const COMPAT = new Set(["prefer", "require", "verify-ca"])
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

const withParam = (url: string, param: string): string => {
  const hash = url.indexOf("#")
  const head = hash < 0 ? url : url.slice(0, hash)
  const tail = hash < 0 ? "" : url.slice(hash)
  return `${head}${head.includes("?") ? (/[?&]$/.test(head) ? "" : "&") : "?"}${param}${tail}`
}

const withMode = (url: string, mode: string): string =>
  /[?&]sslmode=/.test(url)
    ? url.replace(/([?&])sslmode=[^&#]*/, `$1sslmode=${mode}`)
    : withParam(url, `sslmode=${mode}`)

/** libpq 16's `sslrootcert=system` (node-postgres would read a file named "system") as verify-full on Node's CAs */
const systemRoots = (url: string): string =>
  connectionParam(url, "sslrootcert") === "system"
    ? withMode(
        url.replace(/([?&])sslrootcert=system(&|(?=#)|$)/, (_, sep: string, next: string) => (next === "&" ? sep : "")),
        "verify-full"
      )
    : url

/** host (decoded, brackets off) and port of a URL's single host; undefined when it names several */
const endpointOf = (url: string): { host: string; port: number } | undefined => {
  const authority = AUTHORITY.exec(url)?.[1]
  const m = authority === undefined ? null : /^(\[[^\]]*\]|[^:,]*)(?::(\d+))?$/.exec(authority)
  if (m === null) return undefined
  const host = connectionParam(url, "host") ?? decodeURIComponent(m[1]!).replace(/^\[|\]$/g, "")
  return { host: host === "" ? "localhost" : host, port: Number(m[2] ?? "5432") }
}

/** the URL's `sslmode`, else `PGSSLMODE`, else undefined */
const modeOf = (url: string): string | undefined => {
  const env = process.env.PGSSLMODE
  return connectionParam(url, "sslmode") ?? (env === undefined || env === "" ? undefined : env)
}

/** `url` with node-postgres told to follow libpq's `sslmode` (libpq's default, prefer, is resolvePrefer's) */
export const libpqSslMode = (connection: string): string => {
  if (!URL_FORM.test(connection) || connectionParam(connection, "uselibpqcompat") !== undefined) return connection
  const roots = systemRoots(connection)
  const mode = modeOf(roots)
  if (mode === undefined) return roots
  const url = connectionParam(roots, "sslmode") === undefined ? withParam(roots, `sslmode=${mode}`) : roots
  if (mode === "disable") return url
  if (mode === "allow" || endpointOf(url)?.host.startsWith("/") === true) return withMode(url, "disable")
  return COMPAT.has(mode) ? withParam(url, "uselibpqcompat=true") : url
}

/**
 * whether the server at host:port accepts TLS (its answer to an SSLRequest); the connect error, or a timeout as
 * ETIMEDOUT, when it cannot be asked; undefined for an answer that is neither
 */
const acceptsTls = (host: string, port: number, timeoutMs: number): Promise<boolean | Error | undefined> =>
  new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (answer: boolean | Error | undefined) => {
      socket.removeAllListeners("data")
      resolve(answer)
      if (answer !== true) return void socket.destroy()
      // finish the handshake and close it cleanly, so the server logs nothing
      const tls = tlsConnect({ socket, rejectUnauthorized: false })
      tls.once("secureConnect", () => tls.end()).once("error", () => tls.destroy())
      tls.once("close", () => socket.destroy())
    }
    if (timeoutMs > 0) {
      socket.setTimeout(timeoutMs, () =>
        done(Object.assign(new Error(`timeout expired: no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" }))
      )
    }
    socket.once("error", (e) => done(e))
    socket.once("connect", () => socket.write(SSL_REQUEST))
    socket.once("data", (b: Buffer) => done(b[0] === 0x53 ? true : b[0] === 0x4e ? false : undefined))
  })

/**
 * `url` with libpq's default and `sslmode=prefer` settled against the server, as libpq's handshake does:
 * `require` written when it offers TLS (libpq's prefer then encrypts without verifying, and checks the chain
 * when given a root certificate, as require does), `disable` when it does not (node-postgres would fail where
 * libpq falls back). Other modes, Unix sockets and several hosts (primaryOf asks each) are returned unchanged; so is
 * a server that cannot be asked, unless `strict`, which rejects with the error the real connect would have met
 * (refused, or no answer within `timeoutMs`: the URL's connect_timeout by default), so it is not waited for twice.
 */
export const resolvePrefer = async (
  connection: string,
  options: { readonly strict?: boolean; readonly timeoutMs?: number | undefined } = {}
): Promise<string> => {
  const url = connectionUrl(connection)
  const endpoint = endpointOf(url)
  if (
    !URL_FORM.test(url) ||
    (modeOf(url) ?? "prefer") !== "prefer" ||
    connectionParam(url, "uselibpqcompat") !== undefined ||
    endpoint === undefined ||
    endpoint.host.startsWith("/")
  ) {
    return connection
  }
  const tls = await acceptsTls(endpoint.host, endpoint.port, options.timeoutMs ?? connectTimeoutMs(url))
  if (tls instanceof Error) {
    if (options.strict === true) throw tls
    return connection
  }
  // settled: what prefer means against this server now, so a URL resolved once is not asked again
  return tls === undefined ? connection : withMode(url, tls ? "require" : "disable")
}
