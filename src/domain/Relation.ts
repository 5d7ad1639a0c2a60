/** A source relation as announced by a pgoutput Relation message. */
export interface Column {
  readonly name: string
  readonly typeOid: number
  readonly typeMod: number
  /** part of the replica identity (pgoutput flag 1) */
  readonly isKey: boolean
}

export type ReplicaIdentity = "d" | "n" | "f" | "i"

export interface Relation {
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly replicaIdentity: ReplicaIdentity
  readonly columns: ReadonlyArray<Column>
}

export const qualifiedName = (r: { readonly schema: string; readonly name: string }): string => `${r.schema}.${r.name}`
