/**
 * One parameter of a Postgres connection string in either form libpq accepts: a URL
 * (`postgres://u@a:5432,b:5433/db?connect_timeout=5`, several hosts included, which WHATWG URL rejects) or
 * keyword/value pairs (`host=a,b port=5432 dbname=db connect_timeout=5`, values possibly single-quoted).
 */
const URL_FORM = /^postgres(?:ql)?:\/\//i

/** the value of `key`, undefined when the string does not set it */
export const connectionParam = (connection: string, key: string): string | undefined => {
  if (URL_FORM.test(connection)) {
    const q = connection.indexOf("?")
    if (q < 0) return undefined
    const hash = connection.indexOf("#", q)
    return new URLSearchParams(connection.slice(q + 1, hash < 0 ? undefined : hash)).get(key) ?? undefined
  }
  const m = new RegExp(`(?:^|\\s)${key}\\s*=\\s*('(?:[^'\\\\]|\\\\.)*'|\\S*)`).exec(connection)
  if (m === null) return undefined
  const raw = m[1]!
  return raw.startsWith("'") ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw
}
