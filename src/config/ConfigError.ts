import { Data, ParseResult } from "effect"
import { redactSecrets } from "../telemetry/Logging.js"

/**
 * A configuration problem, located by `file` (a YAML path, or "environment") and `path` (the key path, e.g.
 * `tuning.batch_size` or `map[0].tables.t1.type`). Construct it with the bare problem as `message`; the
 * resulting `.message` reads `file: path: problem`, with any password masked. `detail` keeps the bare problem.
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly file: string
  readonly path: string
  readonly message: string
}> {
  readonly detail: string
  /** process exit code for a configuration error (usage-class) */
  readonly exitCode = 2

  constructor(args: { readonly file: string; readonly path: string; readonly message: string }) {
    const detail = redactSecrets(args.message)
    const path = redactSecrets(args.path)
    super({
      file: args.file,
      path,
      message: redactSecrets([args.file, path, detail].filter((p) => p !== "").join(": "))
    })
    this.detail = detail
  }
}

export type KeyPath = ReadonlyArray<PropertyKey>

/** `["map", 0, "tables", "t1", "type"]` → `map[0].tables.t1.type`; keys that are not identifiers are quoted */
export const formatPath = (path: KeyPath): string =>
  path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`
      const name = String(key)
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return i === 0 ? name : `.${name}`
      return `[${JSON.stringify(name)}]`
    })
    .join("")

/** Maps a key path (relative to the decoded document) to where the user has to look. */
export type Locator = (path: KeyPath) => { readonly file: string; readonly path: string }

export const fileLocator =
  (file: string, prefix: KeyPath = []): Locator =>
  (path) => ({ file, path: formatPath([...prefix, ...path]) })

export const configError = (locate: Locator, path: KeyPath, message: string): ConfigError =>
  new ConfigError({ ...locate(path), message })

const describeExpected = (expected: string): string => {
  if (expected.startsWith("{") || expected.includes("Struct")) return "a mapping (key: value)"
  if (/^(NonEmpty)?ReadonlyArray|^readonly \[/.test(expected)) return "a list"
  if (expected === "string" || expected === "number") return `a ${expected}`
  if (expected === "boolean") return "true or false"
  return expected
}

const humanize = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Missing":
      return "is required"
    case "Unexpected": {
      const known = issue.message
        .replace(/^is unexpected, expected: /, "")
        .replaceAll('"', "")
        .split(" | ")
      return `unknown key (expected one of: ${known.join(", ")})`
    }
    default: {
      const m = /^Expected ([\s\S]*), actual ([\s\S]*)$/.exec(issue.message)
      return m === null ? issue.message : `expected ${describeExpected(m[1]!)}, got ${shorten(m[2]!)}`
    }
  }
}

/** masks secrets first, so that cutting a long value cannot leave half a password behind */
const shorten = (text: string): string => {
  const safe = redactSecrets(text)
  return safe.length > 80 ? `${safe.slice(0, 77)}...` : safe
}

/** Renders an actual value for "expected X, got Y" messages (short, never an object dump). */
export const showValue = (value: unknown): string => {
  if (value === undefined) return "nothing"
  if (Array.isArray(value)) return "a list"
  if (typeof value === "object" && value !== null) return "a mapping"
  return shorten(JSON.stringify(value) ?? String(value))
}

/** Message annotation for a schema: `expected <description>, got <actual>`, replacing Effect's own wording. */
export const expecting =
  (description: string, options?: { readonly hideValue?: boolean }) => (issue: ParseResult.ParseIssue) => ({
    message: options?.hideValue
      ? `expected ${description} (value not shown)`
      : `expected ${description}, got ${showValue(issue.actual)}`,
    override: true
  })

/** The first (deepest) schema issue as a ConfigError, located through `locate`. */
export const fromParseError = (error: ParseResult.ParseError, locate: Locator): ConfigError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  if (first === undefined) return configError(locate, [], error.message)
  return configError(locate, first.path, humanize(first))
}
