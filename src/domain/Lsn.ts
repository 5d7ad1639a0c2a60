/** Log sequence numbers as unsigned 64-bit bigints; text form is Postgres' `XXXXXXXX/XXXXXXXX`. */
export type Lsn = bigint

export const ZERO: Lsn = 0n

export const parse = (text: string): Lsn => {
  const slash = text.indexOf("/")
  if (slash <= 0 || slash === text.length - 1) throw new Error(`invalid LSN "${text}"`)
  const hi = text.slice(0, slash)
  const lo = text.slice(slash + 1)
  if (!/^[0-9a-fA-F]{1,8}$/.test(hi) || !/^[0-9a-fA-F]{1,8}$/.test(lo)) throw new Error(`invalid LSN "${text}"`)
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`)
}

export const format = (lsn: Lsn): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`

export const max = (a: Lsn, b: Lsn): Lsn => (a > b ? a : b)
export const min = (a: Lsn, b: Lsn): Lsn => (a < b ? a : b)

/** bytes between two positions, never negative */
export const distance = (from: Lsn, to: Lsn): bigint => (to > from ? to - from : 0n)
