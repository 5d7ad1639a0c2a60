/**
 * The data-type table of the round-trip test: every type of kuvasz-streamer's `t5` (reference §9.2) plus
 * arrays, an enum, a domain and composites, and rows of typical, edge and NULL values as SQL expressions.
 */
export const TYPES_DDL = `
  create type complex as (r float8, i float8);
  create type mood as enum ('sad', 'ok', 'it''s \\ "happy"', E'tab\\there', '\\N', '😀');
  create domain posint as integer check (value > 0);`

/** [column, source type, destination type when it differs (serials)] */
export const COLUMNS: ReadonlyArray<readonly [string, string, string?]> = [
  ["c_bigint", "bigint"],
  ["c_bigserial", "bigserial", "bigint"],
  ["c_smallint", "smallint"],
  ["c_smallserial", "smallserial", "smallint"],
  ["c_serial", "serial", "integer"],
  ["c_integer", "integer"],
  ["c_bit", "bit(8)"],
  ["c_varbit", "bit varying"],
  ["c_bool", "boolean"],
  ["c_box", "box"],
  ["c_circle", "circle"],
  ["c_line", "line"],
  ["c_lseg", "lseg"],
  ["c_path", "path"],
  ["c_point", "point"],
  ["c_polygon", "polygon"],
  ["c_bytea", "bytea"],
  ["c_char", "char(10)"],
  ["c_varchar", "varchar(100)"],
  ["c_text", "text"],
  ["c_cidr", "cidr"],
  ["c_inet", "inet"],
  ["c_macaddr", "macaddr"],
  ["c_macaddr8", "macaddr8"],
  ["c_date", "date"],
  ["c_time", "time"],
  ["c_timetz", "timetz"],
  ["c_timestamp", "timestamp(3)"],
  ["c_timestamptz", "timestamptz"],
  ["c_interval", "interval"],
  ["c_float4", "real"],
  ["c_float8", "double precision"],
  ["c_money", "money"],
  ["c_numeric", "numeric"],
  ["c_numeric_s", "numeric(20,5)"],
  ["c_json", "json"],
  ["c_jsonb", "jsonb"],
  ["c_pglsn", "pg_lsn"],
  ["c_tsquery", "tsquery"],
  ["c_tsvector", "tsvector"],
  ["c_uuid", "uuid"],
  ["c_xml", "xml"],
  ["c_intarr", "integer[]"],
  ["c_textarr", "text[]"],
  ["c_int2d", "integer[][]"],
  ["c_complex", "complex"],
  ["c_mood", "mood"],
  ["c_posint", "posint"],
  ["c_moodarr", "mood[]"],
  ["c_complexarr", "complex[]"]
]

export const NAMES = COLUMNS.map(([n]) => n)

/** keyed: `id` primary key; else no key and REPLICA IDENTITY FULL (kuvasz's t5) */
export const sourceTableDdl = (table: string, keyed = true) =>
  `create table ${table} (id int${keyed ? " primary key" : ""}, ${COLUMNS.map(([n, t]) => `${n} ${t}`).join(", ")})` +
  (keyed ? "" : `; alter table ${table} replica identity full`)

export const handDestDdl = (table: string, keyed = true) =>
  `create table ${table} (sid text not null, id int not null, ${COLUMNS.map(([n, t, d]) => `${n} ${d ?? t}`)}` +
  (keyed ? ", primary key (sid, id))" : ")")

/** quotes, backslashes, tab, newline, CR, the COPY NULL marker, characters outside the BMP */
export const NASTY_TEXT = String.raw`E'q '' dq " bs \\ tab \t nl \n cr \r nullmark \\N del \x7f 😀 𝄞 end'`

const THOUSAND_DIGITS = `(repeat('9', 500) || '.' || repeat('1', 499) || '7')::numeric`

export type Row = Readonly<Record<string, string>>

export const TYPICAL: Row = {
  c_bigint: "-9223372036854775808",
  c_bigserial: "9223372036854775807",
  c_smallint: "-32768",
  c_smallserial: "32767",
  c_serial: "2147483647",
  c_integer: "-2147483648",
  c_bit: "B'10100101'",
  c_varbit: "B'101'",
  c_bool: "true",
  c_box: "'((1.5,2.5),(-3,-4.25))'",
  c_circle: "'<(1,2),3.5>'",
  c_line: "'{1,-1,0.5}'",
  c_lseg: "'[(1,2),(3,4)]'",
  c_path: "'[(0,0),(1,1),(2,0)]'",
  c_point: "'(1.000001,-2e-300)'",
  c_polygon: "'((0,0),(1,1),(1,0))'",
  c_bytea: String.raw`'\x00015c27ff22'::bytea`,
  c_char: "'ab'",
  c_varchar: "'héllo wörld ß'",
  c_text: NASTY_TEXT,
  c_cidr: "'192.168.100.128/25'",
  c_inet: "'2001:db8::1/64'",
  c_macaddr: "'08:00:2b:01:02:03'",
  c_macaddr8: "'08:00:2b:01:02:03:04:05'",
  c_date: "'2024-02-29'",
  c_time: "'23:59:59.999999'",
  c_timetz: "'04:05:06.789+05:30'",
  c_timestamp: "'2000-01-01 00:00:00.001'",
  c_timestamptz: "'2024-03-10 02:30:00.123456-08'",
  c_interval: "'1 year 2 mons -3 days 04:05:06.789'",
  c_float4: "3.4028235e38",
  c_float8: "0.1",
  c_money: "'12345.67'",
  c_numeric: THOUSAND_DIGITS,
  c_numeric_s: "'-123456789012345.12345'",
  c_json: `'{"b": [1, 2.50, "x\\u00e9"],  "a" : null, "a": 1}'`,
  c_jsonb: `'{"k": [1, {"n": null}], "e": "😀", "q": "it''s \\"q\\" \\\\ \\t"}'`,
  c_pglsn: "'16/B374D848'",
  c_tsquery: "'fat & (rat | cat) & !dog'",
  c_tsvector: "'a fat cat sat:3 on:4A mat'",
  c_uuid: "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
  c_xml: `'<a attr="1">text &amp; <b/> ü</a>'`,
  c_intarr: "'{1,2,NULL,-3}'",
  c_textarr: String.raw`ARRAY['a', NULL, 'NULL', '', 'a,b', ' s ', 'q"q', E'back\\slash', '{x}', E'\\N']`,
  c_int2d: "'{{1,2,3},{4,5,6}}'",
  c_complex: "'(1.5,-2.25)'",
  c_mood: String.raw`'it''s \ "happy"'`,
  c_posint: "42",
  c_moodarr: String.raw`ARRAY['sad', 'it''s \ "happy"', E'tab\there', '\N', NULL]::mood[]`,
  c_complexarr: `ARRAY['(1,2)', '(,3)', NULL]::complex[]`
}

/** empty values (not NULL), infinities, NaN, extremes; numeric ±Infinity needs PG14 */
export const edges = (version: number): Row => ({
  c_bigint: "0",
  c_smallint: "0",
  c_integer: "2147483647",
  c_bit: "B'00000000'",
  c_varbit: "B''",
  c_bool: "false",
  c_box: "'((0,0),(0,0))'",
  c_circle: "'<(0,0),0>'",
  c_line: "'{0,1,-1e300}'",
  c_lseg: "'[(0,0),(0,0)]'",
  c_path: "'((0,0),(1e-300,1e300))'",
  c_point: "'(NaN,-Infinity)'",
  c_polygon: "'((1,1))'",
  c_bytea: "''::bytea",
  c_char: "''",
  c_varchar: "'NULL'",
  c_text: String.raw`E'\\N'`,
  c_cidr: "'::/0'",
  c_inet: "'255.255.255.255'",
  c_macaddr: "'ff:ff:ff:ff:ff:ff'",
  c_macaddr8: "'00:00:00:00:00:00:00:00'",
  c_date: "'4713-01-01 BC'",
  c_time: "'24:00:00'",
  c_timetz: "'00:00:00-15:59'",
  c_timestamp: "'infinity'",
  c_timestamptz: "'-infinity'",
  c_interval: "'-178000000 years'",
  c_float4: "'NaN'",
  c_float8: "'-Infinity'",
  c_money: "'-92233720368547758.08'",
  c_numeric: version >= 14 ? "'Infinity'" : "'NaN'",
  c_numeric_s: "'NaN'",
  c_json: `'"str"'`,
  c_jsonb: "'null'",
  c_pglsn: "'0/0'",
  c_tsquery: "''",
  c_tsvector: "''",
  c_uuid: "'00000000-0000-0000-0000-000000000000'",
  c_xml: "''",
  c_intarr: "'{}'",
  c_textarr: "'{}'",
  c_int2d: "'{{NULL,NULL},{NULL,7}}'",
  c_complex: "'(,)'",
  c_mood: "'😀'",
  c_posint: "1",
  c_moodarr: "'{}'",
  c_complexarr: "ARRAY['(,)']::complex[]"
})

export const others = (version: number): Row => ({
  c_float4: "'-0'",
  c_float8: "4.9e-324",
  c_numeric: version >= 14 ? "'-Infinity'" : `-${THOUSAND_DIGITS}`,
  c_numeric_s: "'0.00001'",
  c_text: `${NASTY_TEXT} || (select string_agg(md5(i::text), '') from generate_series(1, 2000) as i)`,
  c_json: "'[]'",
  c_jsonb: `'{"a": 1e1000}'`,
  c_timestamp: "'294276-12-31 23:59:59.999'",
  c_timestamptz: "'1999-12-31 23:59:59.999999+14'",
  c_interval: "'0'",
  c_money: "'0'"
})

/** INSERT of `row` (unlisted columns: default, NULL or serial) */
export const insertSql = (table: string, id: number, row: Row) => {
  const cols = Object.entries(row)
  return `insert into ${table} (${["id", ...cols.map(([n]) => n)]}) values (${[id, ...cols.map(([, v]) => v)]})`
}

/** UPDATE setting every column to those of row `from` */
export const copyRowSql = (table: string, from: number, to: number) =>
  `update ${table} set (${NAMES}) = (select ${NAMES} from ${table} where id = ${from}) where id = ${to}`
