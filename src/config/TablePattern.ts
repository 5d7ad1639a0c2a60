/**
 * Wildcard table keys of the mapping: `schema.pattern`, `pattern` (in the default schema) or
 * `schemaPattern.pattern`, where `*` matches any run of characters and `?` one character; everything else is
 * literal. `*` alone is every table of the default schema, `*.*` every table of every user schema. A key is a
 * pattern when it contains `*` or `?`.
 */

export interface TablePattern {
  /** the key as written */
  readonly key: string
  readonly schema: string
  readonly name: string
}

export const isPatternKey = (key: string): boolean => key.includes("*") || key.includes("?")

const FORBIDDEN = /[\s[\]{}"\\]/

/** the pattern of `key`, or a Left-like string saying what is wrong with it */
export const parsePattern = (key: string, defaultSchema: string): TablePattern | string => {
  if (FORBIDDEN.test(key)) return `"${key}" may contain only names, "*" and "?" (no spaces, quotes or brackets)`
  const parts = key.split(".")
  if (parts.length > 2 || parts.some((p) => p === "")) {
    return `expected "pattern" or "schema.pattern" (for example "sales.*" or "sales.order_*"), got "${key}"`
  }
  return parts.length === 1
    ? { key, schema: defaultSchema, name: parts[0]! }
    : { key, schema: parts[0]!, name: parts[1]! }
}

const escape = (s: string) => s.replace(/[.+^${}()|[\]\\]/g, "\\$&")

const compiled = new Map<string, RegExp>()

/** anchored glob match (`*` any run, `?` one character) */
export const globMatch = (glob: string, text: string): boolean => {
  let re = compiled.get(glob)
  if (re === undefined) {
    re = new RegExp(`^${escape(glob).replaceAll("*", ".*").replaceAll("?", ".")}$`, "s")
    compiled.set(glob, re)
  }
  return re.test(text)
}

export const matchesPattern = (p: { readonly schema: string; readonly name: string }, schema: string, name: string) =>
  globMatch(p.schema, schema) && globMatch(p.name, name)
