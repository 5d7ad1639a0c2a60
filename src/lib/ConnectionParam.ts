/**
 * One parameter of a Postgres connection string in either form libpq accepts: a URL
 * (`postgres://u@a:5432,b:5433/db?connect_timeout=5`, several hosts included, which WHATWG URL rejects) or
 * keyword/value pairs (`host=a,b port=5432 dbname=db connect_timeout=5`, values possibly single-quoted).
 */
export const URL_FORM = /^postgres(?:ql)?:\/\//i
const PAIR = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)*)\s*/y

/** every keyword of the keyword/value form with its value (quotes off, escapes read); undefined when it does not parse */
export const keywordPairs = (connection: string): Map<string, string> | undefined => {
  const pairs = new Map<string, string>()
  const text = connection.trim()
  PAIR.lastIndex = 0
  while (PAIR.lastIndex < text.length) {
    const m = PAIR.exec(text)
    if (m === null) return undefined
    const raw = m[2]!
    pairs.set(m[1]!, (raw.startsWith("'") ? raw.slice(1, -1) : raw).replace(/\\(.)/g, "$1"))
  }
  return pairs
}

/** the value of `key`, undefined when the string does not set it */
export const connectionParam = (connection: string, key: string): string | undefined => {
  if (URL_FORM.test(connection)) {
    const q = connection.indexOf("?")
    if (q < 0) return undefined
    const hash = connection.indexOf("#", q)
    return new URLSearchParams(connection.slice(q + 1, hash < 0 ? undefined : hash)).get(key) ?? undefined
  }
  return keywordPairs(connection)?.get(key)
}
