/**
 * Names for the apply statements, so that each destination connection parses and plans a statement's text
 * once (a named prepared statement; node-postgres remembers per connection which names it has parsed) and
 * later batches send only Bind/Execute. The text of an apply statement depends on the table and the set of
 * columns, never on the rows, so a process uses few texts; the registry is bounded anyway: past MAX_NAMES
 * texts, new ones run unnamed, as before.
 *
 * Names are never reused for another text, so a connection can never run a stale statement under a name.
 */
export const MAX_NAMES = 512

const names = new Map<string, string>()

/** the name of `text`'s prepared statement, or undefined once the registry is full */
export const statementName = (text: string): string | undefined => {
  let name = names.get(text)
  if (name === undefined && names.size < MAX_NAMES) {
    name = `walferry_apply_${names.size + 1}`
    names.set(text, name)
  }
  return name
}

/** texts built once per key: `build` runs the first time a key is asked for */
export class TextCache {
  private readonly texts = new Map<string, string>()
  /** `getBy`'s texts: first key, then second */
  private readonly pairs = new Map<string, Map<string, string>>()
  private paired = 0

  constructor(private readonly max = 4 * MAX_NAMES) {}

  get(key: string, build: () => string): string {
    let text = this.texts.get(key)
    if (text === undefined) {
      if (this.texts.size >= this.max) this.texts.clear()
      text = build()
      this.texts.set(key, text)
    }
    return text
  }

  /**
   * `get` for a key made of two texts, without joining them: when both are cached strings (the same objects
   * call after call, their hashes kept by V8) a lookup builds and hashes nothing, where a joined key would be
   * built, flattened and hashed on every call
   */
  getBy(first: string, second: string, build: () => string): string {
    let bySecond = this.pairs.get(first)
    if (bySecond === undefined) {
      if (this.paired >= this.max) {
        this.pairs.clear()
        this.paired = 0
      }
      this.pairs.set(first, (bySecond = new Map()))
    }
    let text = bySecond.get(second)
    if (text === undefined) {
      text = build()
      bySecond.set(second, text)
      this.paired++
    }
    return text
  }
}

/** one TextCache per owner (a target's SQL), made on first use and dropped with the owner */
export class TextCaches<K extends object> {
  private readonly caches = new WeakMap<K, TextCache>()

  of(owner: K): TextCache {
    let cache = this.caches.get(owner)
    if (cache === undefined) this.caches.set(owner, (cache = new TextCache()))
    return cache
  }
}
