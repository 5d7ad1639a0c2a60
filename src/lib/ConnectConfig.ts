/**
 * What every walferry connection to a user's Postgres gets on top of its own settings: a connect timeout
 * (ConnectTimeout), the keyword/value form read as libpq reads it (ConnectionUrl) and libpq's meaning of
 * `sslmode` (SslMode), so a connection string behaves as it does with psql.
 */
import type pg from "pg"
import { connectTimeoutMs } from "./ConnectTimeout.js"
import { libpqSslMode } from "./SslMode.js"
import { connectionUrl } from "./ConnectionUrl.js"

/** `config` with libpq's `sslmode` and its connection timeout set, unless it sets one itself */
export const connectConfig = <C extends pg.ClientConfig>(
  config: C
): C & { connectionTimeoutMillis?: number | undefined } => {
  const url = config.connectionString
  return {
    ...config,
    ...(url === undefined ? {} : { connectionString: libpqSslMode(connectionUrl(url)) }),
    connectionTimeoutMillis: config.connectionTimeoutMillis ?? connectTimeoutMs(url)
  }
}
