/**
 * Environment overrides of any key of walferry's YAML file: `WALFERRY_` + the key path, segments upper-cased
 * and joined by a DOUBLE underscore, so keys may contain single underscores:
 * `WALFERRY_TUNING__BATCH_SIZE=500`, `WALFERRY_DESTINATION__URL=...`, `WALFERRY_MAP_FILE=./map.yaml`.
 * Values of number/boolean keys are read as YAML scalars; string keys take the value verbatim; `WALFERRY_MAP`
 * takes a whole YAML (flow) list. Empty values are ignored. Setting `map_file` drops the file's inline `map`
 * and vice versa. A variable naming no key is an error; `WALFERRY_TEST_*` and `WALFERRY_PG_VERSIONS` (test
 * harness) are reserved and skipped. Everything then goes through the same schema as the file.
 */
import { Effect, Schema, SchemaAST } from "effect"
import YAML from "yaml"
import { ConfigError, formatPath, type Locator } from "./ConfigError.js"
import { WalferryFileSchema } from "./ConfigSchema.js"

export const ENV_PREFIX = "WALFERRY_"
const RESERVED = [/^WALFERRY_TEST_/, /^WALFERRY_PG_VERSIONS$/]

export interface EnvOverride {
  /** the variable, e.g. `WALFERRY_TUNING__BATCH_SIZE` */
  readonly name: string
  /** the key path it sets, e.g. `["tuning", "batch_size"]` */
  readonly path: ReadonlyArray<string>
}

type Node =
  | { readonly kind: "section"; readonly keys: ReadonlyMap<string, SchemaAST.AST> }
  | { readonly kind: "string" | "scalar" | "document" }

const classify = (ast: SchemaAST.AST): Node => {
  switch (ast._tag) {
    case "Refinement":
    case "Transformation":
      return classify(ast.from)
    case "Suspend":
      return classify(ast.f())
    case "TypeLiteral":
      return { kind: "section", keys: new Map(ast.propertySignatures.map((p) => [String(p.name), p.type])) }
    case "TupleType":
      return { kind: "document" }
    case "StringKeyword":
    case "TemplateLiteral":
      return { kind: "string" }
    case "Literal":
      return { kind: typeof ast.literal === "string" ? "string" : "scalar" }
    case "Union": {
      const nodes = ast.types
        .filter((t) => !(t._tag === "Literal" && t.literal === null) && t._tag !== "UndefinedKeyword")
        .map(classify)
      return (
        nodes.find((n) => n.kind === "section" || n.kind === "document") ??
        (nodes.every((n) => n.kind === "string") ? { kind: "string" } : { kind: "scalar" })
      )
    }
    default:
      return { kind: "scalar" }
  }
}

const root = classify(Schema.encodedSchema(WalferryFileSchema).ast)

/** the variable that sets a key path: `["tuning", "batch_size"]` → `WALFERRY_TUNING__BATCH_SIZE` */
export const envVarName = (path: ReadonlyArray<PropertyKey>): string =>
  ENV_PREFIX + path.map((s) => String(s).toUpperCase()).join("__")

export const isOverrideVariable = (name: string): boolean =>
  name.startsWith(ENV_PREFIX) && !RESERVED.some((r) => r.test(name))

export const hasEnvOverrides = (env: Record<string, string | undefined>): boolean =>
  Object.entries(env).some(([name, value]) => isOverrideVariable(name) && value !== undefined && value !== "")

const fail = (name: string, message: string) => new ConfigError({ file: "environment", path: name, message })

const resolve = (name: string): Effect.Effect<{ path: ReadonlyArray<string>; node: Node }, ConfigError> => {
  const segments = name.slice(ENV_PREFIX.length).split("__")
  const path: Array<string> = []
  let node = root
  for (const segment of segments) {
    if (node.kind !== "section") {
      const at = formatPath(path)
      return node.kind === "document"
        ? Effect.fail(fail(name, `${at} can only be set as a whole (${envVarName(path)}, a YAML list)`))
        : Effect.fail(fail(name, `${at} has no sub-keys`))
    }
    const key = [...node.keys.keys()].find((k) => k.toUpperCase() === segment)
    if (key === undefined) {
      const where = path.length === 0 ? "" : ` under ${formatPath(path)}`
      const known = [...node.keys.keys()].map((k) => envVarName([...path, k])).join(", ")
      return Effect.fail(fail(name, `no such setting${where} (known: ${known})`))
    }
    path.push(key)
    node = classify(node.keys.get(key)!)
  }
  return Effect.succeed({ path, node })
}

const parseValue = (name: string, value: string, node: Node): Effect.Effect<unknown, ConfigError> => {
  switch (node.kind) {
    case "string":
      return Effect.succeed(value)
    case "scalar":
      return Effect.sync(() => {
        try {
          const parsed: unknown = YAML.parse(value)
          return typeof parsed === "object" && parsed !== null ? value : parsed
        } catch {
          return value
        }
      })
    case "document":
      return Effect.try({
        try: () => YAML.parse(value, { prettyErrors: false }) as unknown,
        catch: (e) => fail(name, `YAML syntax error: ${e instanceof Error ? e.message : String(e)}`)
      })
    case "section": {
      const keys = [...node.keys.keys()].map((k) => `${name}__${k.toUpperCase()}`).join(", ")
      return Effect.fail(fail(name, `names a section; set its keys instead (${keys})`))
    }
  }
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const setIn = (target: Record<string, unknown>, path: ReadonlyArray<string>, value: unknown): void => {
  let node = target
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    node = isRecord(next) ? next : (node[key] = {})
  }
  node[path[path.length - 1]!] = value
}

/** A locator reporting paths set by a variable as `environment: NAME (key.path)`, others through `base`. */
export const envLocator =
  (overrides: ReadonlyArray<EnvOverride>, base: Locator): Locator =>
  (path) => {
    const owner = overrides
      .filter((o) => o.path.every((k, i) => path[i] === k))
      .sort((a, b) => b.path.length - a.path.length)[0]
    return owner === undefined
      ? base(path)
      : { file: "environment", path: `${owner.name} (${formatPath(path.length > 0 ? path : owner.path)})` }
  }

/** Applies every `WALFERRY_*` variable to a copy of the parsed YAML document. */
export const applyEnvOverrides = (
  raw: Record<string, unknown>,
  env: Record<string, string | undefined>,
  base: Locator
): Effect.Effect<
  { readonly raw: Record<string, unknown>; readonly overrides: ReadonlyArray<EnvOverride>; readonly locate: Locator },
  ConfigError
> =>
  Effect.gen(function* () {
    const result = structuredClone(raw)
    const overrides: Array<EnvOverride> = []
    const names = Object.keys(env).filter(isOverrideVariable).sort()
    for (const name of names) {
      const value = env[name]
      if (value === undefined || value === "") continue
      const { path, node } = yield* resolve(name)
      setIn(result, path, yield* parseValue(name, value, node))
      if (path.length === 1 && path[0] === "map_file") delete result.map
      if (path.length === 1 && path[0] === "map") delete result.map_file
      overrides.push({ name, path })
    }
    const sources = overrides.filter((o) => o.path.length === 1 && (o.path[0] === "map" || o.path[0] === "map_file"))
    if (sources.length > 1)
      return yield* fail(sources[1]!.name, `set either ${sources[0]!.name} or ${sources[1]!.name}`)
    return { raw: result, overrides, locate: envLocator(overrides, base) }
  })
