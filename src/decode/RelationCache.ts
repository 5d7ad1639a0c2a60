/**
 * The latest Relation announced per relation oid, with a generation that changes whenever a Relation message for the
 * oid differs from the stored one (columns, names, types, key flags, replica identity), so consumers holding
 * per-relation state (prepared statements, column maps) can tell when to rebuild it. Generations come from one
 * counter per cache, so a number is never reused, even after delete or clear.
 */
import type { Column, Relation } from "../domain/Relation.js"

export interface RelationEntry {
  readonly relation: Relation
  readonly generation: number
}

/** what `set` did: first sighting of the oid, same shape as before, or a schema change */
export type RelationUpdate = "new" | "unchanged" | "changed"

const sameColumn = (a: Column, b: Column): boolean =>
  a.name === b.name && a.typeOid === b.typeOid && a.typeMod === b.typeMod && a.isKey === b.isKey

export const sameColumns = (a: ReadonlyArray<Column>, b: ReadonlyArray<Column>): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (!sameColumn(a[i]!, b[i]!)) return false
  return true
}

export const sameRelation = (a: Relation, b: Relation): boolean =>
  a.oid === b.oid &&
  a.schema === b.schema &&
  a.name === b.name &&
  a.replicaIdentity === b.replicaIdentity &&
  sameColumns(a.columns, b.columns)

export class RelationCache {
  private readonly entries = new Map<number, RelationEntry>()
  private lastGeneration = 0

  /** stores `relation`; an unchanged re-announcement keeps the stored object (stable identity) and generation */
  set(relation: Relation): RelationUpdate {
    const prev = this.entries.get(relation.oid)
    if (prev === undefined) {
      this.entries.set(relation.oid, { relation, generation: ++this.lastGeneration })
      return "new"
    }
    if (sameRelation(prev.relation, relation)) return "unchanged"
    this.entries.set(relation.oid, { relation, generation: ++this.lastGeneration })
    return "changed"
  }

  get(oid: number): Relation | undefined {
    return this.entries.get(oid)?.relation
  }

  entry(oid: number): RelationEntry | undefined {
    return this.entries.get(oid)
  }

  /** 0 for an unknown oid */
  generation(oid: number): number {
    return this.entries.get(oid)?.generation ?? 0
  }

  has(oid: number): boolean {
    return this.entries.has(oid)
  }

  delete(oid: number): boolean {
    return this.entries.delete(oid)
  }

  clear(): void {
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
