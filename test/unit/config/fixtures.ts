import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either } from "effect"
import { afterAll } from "vitest"
import type { ConfigError } from "../../../src/config/ConfigError.js"
import { loadConfig, type LoadedConfig, type LoadOptions } from "../../../src/config/ConfigLoader.js"

export const SECRET = "s3cr3t-Pa55"
export const DEST_URL = `postgres://walferry:${SECRET}@dwh.internal:5432/warehouse`
export const SOURCE_URL = `postgres://repl:${SECRET}@src.internal:5432/shop`

/** the kuvasz example map (config/map.yaml), as shipped */
export const kuvaszMapText = readFileSync(new URL("../../../config/map.yaml", import.meta.url), "utf8")

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** writes files into a fresh temp directory (removed after the test file), returns the path of the first one */
export const writeFiles = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), "walferry-config-"))
  dirs.push(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return join(dir, Object.keys(files)[0]!)
}

export const indent = (text: string, by: number): string =>
  text
    .split("\n")
    .map((l) => (l === "" ? l : " ".repeat(by) + l))
    .join("\n")

/** a walferry.yaml with the given body under a valid destination */
export const walferryYaml = (body: string, url = DEST_URL): string => `destination:\n  url: ${url}\n${body}`

/** a one-group inline map with the given table entries (YAML, indented under `tables:`) */
export const inlineMap = (tables: string, url = SOURCE_URL): string =>
  `map:\n  - database: shop\n    urls:\n      - url: ${url}\n        sid: a\n    tables:\n${indent(tables, 6)}\n`

export const load = (options: LoadOptions): Effect.Effect<Either.Either<LoadedConfig, ConfigError>> =>
  Effect.either(loadConfig({ env: {}, ...options }))

/** the ConfigError of a load that must fail (a successful load fails the test) */
export const loadFailure = (options: LoadOptions): Effect.Effect<ConfigError> =>
  Effect.flip(loadConfig({ env: {}, ...options })).pipe(
    Effect.catchAll((loaded) => Effect.die(new Error(`expected a ConfigError, loaded ${JSON.stringify(loaded)}`)))
  )
