/**
 * The minimal description of a destination table the apply engine needs. The destination catalog
 * produces richer objects; anything with these fields can be applied to.
 */
export interface ApplyTargetColumn {
  readonly name: string
  /** format_type() text, e.g. "integer", "numeric(10,2)", "public.mood", "integer[]" */
  readonly typeName: string
}

export interface ApplyTarget {
  readonly schema: string
  readonly name: string
  readonly columns: ReadonlyArray<ApplyTargetColumn>
  /** destination primary key or unique key used for upserts; may be empty */
  readonly primaryKey: ReadonlyArray<string>
  /** the destination has a column named `sid`, filled with the source id of each change */
  readonly hasSid: boolean
}

export const SID_COLUMN = "sid"
