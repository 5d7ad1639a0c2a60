/**
 * Names of the replication slot and publication of one source: `<prefix>_<database>_<sid>` (kuvasz form),
 * lower-cased, every character outside `[a-z0-9_]` replaced by `_`, an empty part left out. Postgres
 * truncates identifiers at 63 bytes, so longer names are cut and end in `_` + 8 hex chars of a hash of the
 * full name: two long names differing only at the end stay distinct.
 */
import { createHash } from "node:crypto"

export const MAX_NAME_BYTES = 63
const HASH_CHARS = 8

const sanitize = (part: string): string => part.toLowerCase().replace(/[^a-z0-9_]/g, "_")

export const objectName = (prefix: string, database: string, sid: string): string => {
  const full = [prefix, database, sid]
    .filter((p) => p !== "")
    .map(sanitize)
    .join("_")
  if (full.length <= MAX_NAME_BYTES) return full
  const hash = createHash("sha256").update(full).digest("hex").slice(0, HASH_CHARS)
  return `${full.slice(0, MAX_NAME_BYTES - HASH_CHARS - 1)}_${hash}`
}

export const slotName = (prefix: string, database: string, sid: string): string => objectName(prefix, database, sid)

export const publicationName = (prefix: string, database: string, sid: string): string =>
  objectName(prefix, database, sid)
