/** The second key of a source's advisory lock (SourceLock), also how the cluster view names sources. */

/** FNV-1a of the source key, 31 bits (non-negative, so pg_locks.objid shows it as is) */
export const sourceLockKey = (source: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < source.length; i++) {
    h ^= source.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) & 0x7fffffff
}
