/**
 * Conversions between pgoutput/COPY text values and CEL values, chosen once per column from its type OID:
 * int2/int4/int8 → int (bigint), float4/float8/numeric → double, bool → bool, bytea → bytes,
 * timestamp/timestamptz → timestamp (a timestamp without time zone is read as UTC), anything else → string
 * (its text form). SQL NULL is CEL `null`. A computed value is written back as Postgres text: ints and
 * doubles in decimal, bools as true/false, bytes as `\x…` hex, timestamps in ISO 8601 UTC, lists and maps
 * as JSON.
 */
export type CelKind = "int" | "double" | "bool" | "bytes" | "timestamp" | "string"

const KIND_BY_OID: ReadonlyMap<number, CelKind> = new Map<number, CelKind>([
  [20, "int"],
  [21, "int"],
  [23, "int"],
  [700, "double"],
  [701, "double"],
  [1700, "double"],
  [16, "bool"],
  [17, "bytes"],
  [1114, "timestamp"],
  [1184, "timestamp"]
])

export const celKindOf = (typeOid: number): CelKind => KIND_BY_OID.get(typeOid) ?? "string"

/** the type a CEL environment declares for a column of this kind */
export const celTypeName = (kind: CelKind): string => (kind === "timestamp" ? "google.protobuf.Timestamp" : kind)

export class CelValueError extends Error {
  override readonly name = "CelValueError"
}

const TZ_HOURS = /[+-]\d\d$/
const HAS_ZONE = /(Z|[+-]\d\d(:?\d\d)?)$/

const toTimestamp = (text: string): Date => {
  let iso = text.replace(" ", "T")
  if (TZ_HOURS.test(iso)) iso += ":00"
  else if (!HAS_ZONE.test(iso)) iso += "Z"
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) throw new CelValueError(`timestamp "${text}" has no CEL value`)
  return d
}

const toBytes = (text: string): Uint8Array => {
  if (!text.startsWith("\\x")) throw new CelValueError("bytea value is not in hex format")
  return Uint8Array.from(Buffer.from(text.slice(2), "hex"))
}

/** the CEL value of a column's text (null for SQL NULL) */
export const toCel = (kind: CelKind, text: string | null): unknown => {
  if (text === null) return null
  switch (kind) {
    case "string":
      return text
    case "int":
      return BigInt(text)
    case "double":
      return Number(text)
    case "bool":
      return text === "t" || text === "true"
    case "bytes":
      return toBytes(text)
    case "timestamp":
      return toTimestamp(text)
  }
}

const json = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    typeof v === "bigint"
      ? v.toString()
      : v instanceof Map
        ? Object.fromEntries(v)
        : v instanceof Set
          ? [...v]
          : v instanceof Uint8Array
            ? Buffer.from(v).toString("base64")
            : v
  )

/** a CEL result as Postgres text (null for CEL null) */
export const fromCel = (value: unknown): string | null => {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case "string":
      return value
    case "bigint":
      return value.toString()
    case "number":
      return Number.isNaN(value)
        ? "NaN"
        : value === Infinity
          ? "Infinity"
          : value === -Infinity
            ? "-Infinity"
            : String(value)
    case "boolean":
      return value ? "true" : "false"
  }
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return "\\x" + Buffer.from(value).toString("hex")
  // a CEL uint (cel-js wraps it in an object whose valueOf is the bigint); not by class name, which a bundler may change
  const primitive = (value as { valueOf(): unknown }).valueOf()
  if (typeof primitive === "bigint") return primitive.toString()
  return json(value)
}
