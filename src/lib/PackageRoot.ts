/**
 * The walferry package's root directory (where its package.json is), searched upwards from this module: it is
 * found the same way from src/ (tsx), dist/ (compiled) and dist/bundle/ (the CLI's bundle), whose depths differ.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

interface Found {
  readonly dir: string
  readonly version: string
}

let found: Found | undefined | null = null

const search = (): Found | undefined => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let up = 0; up < 6; up++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string }
      if (pkg.name === "walferry" && pkg.version !== undefined) return { dir, version: pkg.version }
    } catch {
      // not here, look further up
    }
    dir = dirname(dir)
  }
  return undefined
}

/** the package root and its version, or undefined when this module is not inside the walferry package */
export const packageRoot = (): Found | undefined => {
  if (found === null) found = search()
  return found
}
