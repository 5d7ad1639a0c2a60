import type { SourceGroup, TableMapping } from "../config/Config.js"
import type { Relation } from "../domain/Relation.js"
import type { TableWriter } from "../writers/TableWriter.js"
import { RowTransform, type RowFailure } from "./RowTransform.js"

/**
 * Routes a source relation to the writer of its target table: exact `schema.table` first, then the
 * `partitions_regex` of a mapped partitioned parent (leaf partitions published on their own). The
 * answer is cached per relation oid and dropped when a new Relation message arrives for that oid.
 * Tables with a CEL `filter` or `set` also get their RowTransform; `hasExpressions` is false when no table
 * of the group has one, so the others pay nothing for it.
 */
export class Router {
  private readonly exact = new Map<string, TableMapping>()
  private readonly byRegex: Array<{ readonly schema: string; readonly regex: RegExp; readonly mapping: TableMapping }> =
    []
  private readonly cache = new Map<number, TableWriter | null>()
  private readonly transforms = new Map<TableMapping, RowTransform>()
  readonly hasExpressions: boolean

  constructor(
    group: SourceGroup,
    private readonly writers: ReadonlyMap<string, TableWriter>,
    /** NOT NULL columns of each source table with expressions, by `schema.name` (see ExpressionCheck) */
    notNull: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
    onFailure: (failure: RowFailure) => void = () => {}
  ) {
    for (const t of group.tables) {
      this.exact.set(`${t.schema}.${t.name}`, t)
      if (t.partitionsRegex !== undefined) {
        this.byRegex.push({ schema: t.schema, regex: new RegExp(t.partitionsRegex), mapping: t })
      }
      if (t.expressions !== undefined) {
        const label = `${t.schema}.${t.name}`
        this.transforms.set(t, new RowTransform(label, t.expressions, notNull.get(label) ?? new Set(), onFailure))
      }
    }
    this.hasExpressions = this.transforms.size > 0
  }

  mappingOf(relation: { readonly schema: string; readonly name: string }): TableMapping | undefined {
    const exact = this.exact.get(`${relation.schema}.${relation.name}`)
    if (exact) return exact
    for (const r of this.byRegex) if (r.schema === relation.schema && r.regex.test(relation.name)) return r.mapping
    return undefined
  }

  /** the writer of the source table `schema.name` by its mapping (uncached: for rare events such as DDL) */
  writerOf(schema: string, name: string): TableWriter | null {
    const mapping = this.mappingOf({ schema, name })
    return (mapping && this.writers.get(mapping.target)) ?? null
  }

  route(relation: Relation): TableWriter | null {
    const hit = this.cache.get(relation.oid)
    if (hit !== undefined) return hit
    const mapping = this.mappingOf(relation)
    const writer = (mapping && this.writers.get(mapping.target)) ?? null
    this.cache.set(relation.oid, writer)
    return writer
  }

  /** the CEL transform of the relation's table, undefined without expressions */
  transformOf(relation: Relation): RowTransform | undefined {
    const mapping = this.mappingOf(relation)
    return mapping && this.transforms.get(mapping)
  }

  forget(oid: number): void {
    this.cache.delete(oid)
  }
}
